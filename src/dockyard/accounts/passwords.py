"""Password hashing with argon2id (pwdlib), run off the event loop: one hash costs tens of ms of CPU."""

from __future__ import annotations

import asyncio
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from dockyard.core.errors import BadInput

MIN_LENGTH = 8
MAX_LENGTH = 128

_hasher = PasswordHash((Argon2Hasher(),))
# Verified against when the account does not exist, so timing does not reveal which emails exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def check_policy(password: str, *, field: str = "password") -> None:
    """Refuse passwords outside 8 to 128 characters."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise BadInput(f"`{field}` must be {MIN_LENGTH} to {MAX_LENGTH} characters long.")


async def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, stored: str | None) -> tuple[bool, str | None]:
    """(matches, new hash when the parameters changed). A missing hash still costs one verification."""

    def work() -> tuple[bool, str | None]:
        if stored is None:
            _hasher.verify(password, _DUMMY_HASH)
            return False, None
        return _hasher.verify_and_update(password, stored)

    return await asyncio.to_thread(work)
