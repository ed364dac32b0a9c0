"""The mails accounts sends, worded in one place: what each one says and why it was sent."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    """A mail's subject, body and outbox `kind`."""

    subject: str
    body: str
    kind: str


def _api(public_url: str, path: str) -> str:
    return f"{public_url.rstrip('/')}/accounts/v1{path}"


def verification(public_url: str, token: str, *, username_dropped: str | None = None) -> Notice:
    """The link that confirms a new account's address (valid 24 hours)."""
    link = _api(public_url, f"/verify?token={token}")
    dropped = (
        f"The username {username_dropped!r} was already taken, so your account has none yet; "
        "choose another with PATCH /accounts/v1/me once you have logged in.\n\n"
        if username_dropped
        else ""
    )
    body = (
        "Welcome to Dockyard.\n\n"
        f"Confirm your email address by opening this link within 24 hours:\n\n{link}\n\n"
        f'or by sending POST /accounts/v1/verify with {{"token": "{token}"}}.\n\n'
        f"{dropped}"
        "If you did not create an account, ignore this message.\n"
    )
    return Notice("Confirm your email address", body, "verify")


def already_registered(public_url: str) -> Notice:
    """To the owner of an address someone tried to register again (instead of telling the caller)."""
    body = (
        "Someone tried to create a Dockyard account with your email address, which already has one.\n\n"
        f"If it was you: log in at {_api(public_url, '/login')}, or if you forgot your password, "
        f"ask for a reset with POST {_api(public_url, '/password/reset')}.\n\n"
        "If it was not you, ignore this message: nothing has changed.\n"
    )
    return Notice("You already have an account", body, "already-registered")


def reset(public_url: str, token: str) -> Notice:
    """A password-reset token (valid 1 hour)."""
    body = (
        "Someone asked to reset the password of your Dockyard account.\n\n"
        f"To choose a new password within the hour, send POST {_api(public_url, '/password/reset/confirm')}"
        " with\n\n"
        f'{{"token": "{token}", "new_password": "..."}}\n\n'
        "A new password ends every session and revokes every API token of the account.\n\n"
        "If it was not you, ignore this message: your password stays as it is.\n"
    )
    return Notice("Reset your password", body, "reset")


def password_changed(public_url: str, *, sessions_ended: int, tokens_revoked: int, by_reset: bool) -> Notice:
    """After a password change or reset: what was ended, and what to do if it was not the owner."""
    how = "reset with a mailed token" if by_reset else "changed"
    body = (
        f"The password of your Dockyard account was {how}.\n\n"
        f"For safety {sessions_ended} session(s) were ended and {tokens_revoked} API token(s) revoked; "
        f"create new tokens with POST {_api(public_url, '/me/tokens')} where you need them.\n\n"
        f"If it was not you, reset your password at once with POST {_api(public_url, '/password/reset')}.\n"
    )
    return Notice("Your password was changed", body, "password-changed")


def login_flood(public_url: str, *, failures: int) -> Notice:
    """To an account's owner when many wrong passwords were tried on it (at most once a day)."""
    body = (
        f"In the last hour, at least {failures} logins to your Dockyard account failed with a wrong "
        "password, from several addresses.\n\n"
        "Your account is not locked: logins to it are slowed down for a while, and your password "
        "still works from anywhere.\n\n"
        "If these were not you, someone may be guessing your password. A long passphrase that you use "
        f"nowhere else keeps it safe; change it with POST {_api(public_url, '/password')}.\n"
    )
    return Notice("Failed logins to your account", body, "login-flood")
