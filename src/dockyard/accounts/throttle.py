"""Login and mail-request throttling that slows attackers without letting strangers lock an owner out.

Failed logins are counted three ways (in Redis when REDIS_URL is set, so every worker shares them):

- per account **and** client address (RATE_LIMIT_LOGIN): past it, that address gets 429 for that
  account — the owner, elsewhere, is not affected; a successful login clears the count;
- per client address over all accounts (RATE_LIMIT_LOGIN_IP): one address spraying a password over
  many accounts gets 429;
- per account over all addresses, within an hour: past LOGIN_SLOWDOWN_AFTER failures every attempt
  on the account — right or wrong password, from any address — waits before its password is
  checked, 0.25 s doubling with each further failure up to LOGIN_SLOWDOWN_MAX_S, and the owner is
  mailed (at most once a day). The account is never refused: its owner gets in with the right
  password from a new address, only more slowly.

Verification and reset requests follow the same idea: counted per address asked for and client
together, and per client, with 429; per address asked for only the mails are capped — the answer
stays the same 202, and the reset mails already sent keep working.

Every count is keyed by the address typed, whether or not it has an account, so the counting itself
reveals nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from dockyard.accounts import mail, notices
from dockyard.accounts.auth import AuthRuntime
from dockyard.accounts.queries import users
from dockyard.accounts.service import Client, TokenPair, normalise_email
from dockyard.accounts.service import login as check_password_and_open_session
from dockyard.core.config import Settings
from dockyard.core.db import Pool
from dockyard.core.errors import Unauthorized
from dockyard.core.logging import NOTICE
from dockyard.core.ratelimit import RateLimiter

logger = logging.getLogger("dockyard.accounts.throttle")

FIRST_WAIT_S = 0.25
FLOOD_MAIL_EVERY = dt.timedelta(days=1)


def account_key(email: str) -> str:
    """What counts are keyed by: the address as typed, compared without case."""
    return normalise_email(email).lower()


def login_wait(failures: int, *, after: int, max_s: float) -> float:
    """Seconds an attempt waits on an account with `failures` recent failed logins from all addresses."""
    if failures < after:
        return 0.0
    return float(min(max_s, FIRST_WAIT_S * 2 ** min(failures - after, 16)))


def _flood_budget(settings: Settings) -> str:
    # Counted past the threshold only as far as the wait still grows.
    return f"{settings.login_slowdown_after + 17}/hour"


async def check_login(limiter: RateLimiter, settings: Settings, *, account: str, ip: str) -> float:
    """Refuse (429) a client past its failure budgets; the seconds this attempt must wait first."""
    await limiter.check(
        "login-failures",
        settings.rate_limit_login,
        f"{account}|{ip}",
        what="failed logins to this account from your address",
    )
    await limiter.check(
        "login-failures-ip", settings.rate_limit_login_ip, ip, what="failed logins from your address"
    )
    failures = await limiter.used("login-failures-account", _flood_budget(settings), account)
    return login_wait(failures, after=settings.login_slowdown_after, max_s=settings.login_slowdown_max_s)


async def record_failure(limiter: RateLimiter, settings: Settings, *, account: str, ip: str) -> int:
    """Count a failed login three ways; the account's failures from all addresses in the last hour."""
    await limiter.take("login-failures", settings.rate_limit_login, f"{account}|{ip}")
    await limiter.take("login-failures-ip", settings.rate_limit_login_ip, ip)
    budget = _flood_budget(settings)
    await limiter.take("login-failures-account", budget, account)
    return await limiter.used("login-failures-account", budget, account)


async def login(
    pool: Pool,
    mailer: mail.Mailer,
    auth: AuthRuntime,
    *,
    email: str,
    password: str,
    client: Client,
    ip: str,
) -> TokenPair:
    """`service.login` behind the failure counts: 429 past a budget, a wait on a flooded account."""
    settings, limiter = auth.settings, auth.limiter
    account = account_key(email)
    wait = await check_login(limiter, settings, account=account, ip=ip)
    if wait:
        logger.log(NOTICE, "login slowed", extra={"wait_s": wait})
        await asyncio.sleep(wait)
    try:
        pair = await check_password_and_open_session(
            pool, auth.signer, settings, email=email, password=password, client=client
        )
    except Unauthorized:
        failures = await record_failure(limiter, settings, account=account, ip=ip)
        if failures >= settings.login_slowdown_after:
            await _warn_owner(pool, mailer, limiter, settings, account=account, failures=failures)
        raise
    await limiter.clear("login-failures", settings.rate_limit_login, f"{account}|{ip}")
    return pair


async def _warn_owner(
    pool: Pool, mailer: mail.Mailer, limiter: RateLimiter, settings: Settings, *, account: str, failures: int
) -> None:
    # The limiter spares the database most of a flood; the outbox decides across workers.
    if not await limiter.take("login-flood-mail", "1/day", account):
        return
    notice = notices.login_flood(settings.public_url, failures=failures)
    async with pool.acquire() as conn, conn.transaction():
        owner = await users.account_by_email(conn, account, "is_active")
        outgoing = None
        if owner is not None:
            outgoing = await mail.record_once(
                conn, owner["email"], notice.subject, notice.body, notice.kind, every=FLOOD_MAIL_EVERY
            )
    if outgoing is not None:
        logger.warning("login flood: owner notified", extra={"user_id": owner["id"] if owner else None})
        await mailer.deliver(pool, outgoing)


async def mail_request(limiter: RateLimiter, settings: Settings, *, email: str, ip: str) -> bool:
    """Charge a verification or reset request (429 past the client's budgets); True when a mail may go out."""
    account = account_key(email)
    await limiter.hit(
        "mail-requests", settings.rate_limit_mail, f"{account}|{ip}", what="mail requests for this address"
    )
    await limiter.hit(
        "mail-requests-ip", settings.rate_limit_mail_ip, ip, what="mail requests from your address"
    )
    return await limiter.take("mail-account", settings.rate_limit_mail_account, account)
