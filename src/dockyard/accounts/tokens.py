"""Signed access tokens (JWT) and random secrets (refresh, API, email tokens) stored as digests."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from dockyard.core.config import Settings
from dockyard.core.errors import Unauthorized

API_TOKEN_PREFIX = "dy_"  # noqa: S105 - marks API tokens apart from JWTs
LEEWAY_S = 5


class ConfigurationError(RuntimeError):
    """A setting needed to run is missing or wrong."""


def new_secret(prefix: str = "") -> str:
    """A fresh 256-bit random token, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    """What is stored for a token: its SHA-256 (tokens are random, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class AccessClaims:
    """The claims Dockyard reads from a verified access token."""

    user_id: int
    session_id: uuid.UUID
    expires_at: int


class TokenSigner:
    """Issues and verifies access tokens with one algorithm and key."""

    def __init__(self, settings: Settings, data_dir: Path | None = None) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.ttl_s = settings.access_token_ttl_s
        if self.algorithm == "HS256":
            secret = _hs256_secret(settings, data_dir)
            self._signing_key: Any = secret
            self._verifying_key: Any = secret
        else:
            if settings.jwt_private_key is None or not settings.jwt_public_key:
                raise ConfigurationError(
                    f"JWT_ALGORITHM={self.algorithm} needs JWT_PRIVATE_KEY and JWT_PUBLIC_KEY (PEM)"
                )
            self._signing_key = settings.jwt_private_key.get_secret_value()
            self._verifying_key = settings.jwt_public_key

    def issue(self, user_id: int, session_id: uuid.UUID) -> tuple[str, int]:
        """A signed access token for the session, and its lifetime in seconds."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "typ": "access",
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_s,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self._signing_key, algorithm=self.algorithm), self.ttl_s

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid access token; Unauthorized for anything else."""
        try:
            claims = jwt.decode(
                token,
                self._verifying_key,
                algorithms=[self.algorithm],  # an allow-list of one: never `none`, never another key type
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "nbf", "iat", "iss", "aud", "sub", "sid"]},
            )
            if claims.get("typ") != "access":
                raise jwt.InvalidTokenError("not an access token")
            return AccessClaims(int(claims["sub"]), uuid.UUID(claims["sid"]), int(claims["exp"]))
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized(
                "The access token has expired; get a new one from /accounts/v1/refresh."
            ) from exc
        except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
            raise Unauthorized("The access token is invalid; log in again.") from exc


def _hs256_secret(settings: Settings, data_dir: Path | None) -> bytes:
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value().encode()
        if len(secret) < 32:
            raise ConfigurationError(
                "JWT_SECRET must be at least 32 bytes; generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return secret
    if not settings.embedded:
        raise ConfigurationError(
            "JWT_SECRET is required when DATABASE_URL is set (tokens must survive restarts and be the "
            "same on every worker); generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    return embedded_secret(data_dir or settings.data_dir).encode()


def embedded_secret(data_dir: Path) -> str:
    """The signing secret of the embedded default, generated once and kept beside its data (0600)."""
    path = data_dir / "jwt_secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
