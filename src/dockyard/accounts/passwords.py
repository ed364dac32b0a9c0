"""Passwords: the policy (NIST SP 800-63B §3.1.1.2) and argon2id hashing (pwdlib), run off the event loop.

The policy asks for length and refuses what an attacker tries first — nothing else (no composition
rules, no expiry):

- 8 to 128 characters, any characters (spaces, emoji, NUL: only the hash is stored);
- not one of the 30 000 passwords most found in breaches (the list zxcvbn ships, compared without
  case, offline);
- not the account's email address, the part before its @, its username or display name (or a
  word of it), nor the name of the service — nor containing any of these but the single words
  (when 5 characters or more).

Each refusal is a 400 that says which rule and how to pick a better one.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Iterable
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from dockyard.core.config import get_settings
from dockyard.core.errors import BadInput

MIN_LENGTH = 8
MAX_LENGTH = 128
SERVICE_WORDS = ("dockyard",)
CONTAINED_MIN = 5  # shorter names ("mark") are refused as the whole password only ("benchmark" is fine)
ADVICE = "a few unrelated words make a long password that is easy to remember"


@cache
def _hasher() -> PasswordHash:
    """argon2id with the cost of PASSWORD_HASH_MEMORY_KIB and PASSWORD_HASH_TIME_COST."""
    settings = get_settings()
    return PasswordHash(
        (
            Argon2Hasher(
                memory_cost=settings.password_hash_memory_kib, time_cost=settings.password_hash_time_cost
            ),
        )
    )


@cache
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so timing does not reveal which emails exist."""
    return _hasher().hash(secrets.token_urlsafe(16))


@cache
def common_passwords() -> frozenset[str]:
    """The most common passwords found in breaches, lower-case (loaded once, on first use)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # a large module: imported only when needed

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def _context_words(email: str | None, names: Iterable[str | None]) -> tuple[list[str], list[str]]:
    """(words a password may not contain, words it may not be), lower-case."""
    contained = [word.lower() for word in SERVICE_WORDS]
    if email:
        contained += [email.lower(), email.rpartition("@")[0].lower()]
    exact: list[str] = []
    for name in names:
        if name:
            # "Ada Lovelace" may not be contained as "ada lovelace" or "adalovelace", nor be "ada".
            parts = [part for part in re.split(r"[\s._\-@]+", name.lower()) if part]
            contained += [name.lower(), "".join(parts)]
            exact += parts
    return [word for word in dict.fromkeys(contained) if len(word) >= CONTAINED_MIN], [*contained, *exact]


def check_policy(
    password: str,
    *,
    field: str = "password",
    email: str | None = None,
    names: Iterable[str | None] = (),
) -> None:
    """Refuse (BadInput) a password that is too short or long, commonly used, or made of the account's
    own address or names (`email`, `names`: username, display name)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise BadInput(f"`{field}` must be {MIN_LENGTH} to {MAX_LENGTH} characters long.")
    lowered = password.lower()
    if lowered in common_passwords():
        raise BadInput(
            f"`{field}` is one of the passwords most often found in data breaches, so attackers try it "
            f"first; choose another — {ADVICE}."
        )
    contained, exact = _context_words(email, names)
    if lowered in exact or any(word in lowered for word in contained):
        raise BadInput(
            f"`{field}` must not be or contain your email address, your name or username, or the "
            f"service's name: they are the first guesses; choose another — {ADVICE}."
        )


async def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return await asyncio.to_thread(_hasher().hash, password)


async def verify_password(password: str, stored: str | None) -> tuple[bool, str | None]:
    """(matches, new hash when the parameters changed). A missing hash still costs one verification."""

    def work() -> tuple[bool, str | None]:
        if stored is None:
            _hasher().verify(password, _dummy_hash())
            return False, None
        return _hasher().verify_and_update(password, stored)

    return await asyncio.to_thread(work)
