"""Access tokens: only well-formed, correctly signed, current tokens for this issuer and audience pass."""

from __future__ import annotations

import base64
import json
import stat
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from dockyard.accounts.tokens import ConfigurationError, TokenSigner, embedded_secret
from dockyard.core.config import Settings
from dockyard.core.errors import Unauthorized
from tests.accounts.conftest import Accounts
from tests.support.app import TEST_JWT_SECRET, AppClient, settings_for

SESSION = uuid.uuid4()


def hs256_settings(**overrides: Any) -> Settings:
    return settings_for("postgresql://unused@127.0.0.1/unused", **overrides)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "iss": "dockyard",
        "aud": "dockyard",
        "sub": "42",
        "sid": str(SESSION),
        "typ": "access",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
    }
    values.update(overrides)
    return values


def forge(payload: dict[str, Any], key: str = TEST_JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_issued_token_verifies_with_its_claims() -> None:
    signer = TokenSigner(hs256_settings())
    token, ttl = signer.issue(7, SESSION)
    verified = signer.verify(token)
    assert (verified.user_id, verified.session_id, ttl) == (7, SESSION, 900)
    assert verified.expires_at - time.time() == pytest.approx(900, abs=5)


def test_a_well_forged_token_with_the_right_key_passes() -> None:
    # The control for the rejections below: the same construction with nothing wrong is accepted.
    assert TokenSigner(hs256_settings()).verify(forge(claims())).user_id == 42


# Each case builds its token when the test runs: a token built at collection time would carry an
# `exp` that a long or parallel run outlives, and fail for the wrong reason.
REJECTED: dict[str, Callable[[], str]] = {
    "wrong key": lambda: forge(claims(), key="another-secret-" + "y" * 40),
    "wrong audience": lambda: forge(claims(aud="someone-else")),
    "wrong issuer": lambda: forge(claims(iss="evil")),
    "not yet valid": lambda: forge(claims(nbf=int(time.time()) + 600)),
    "not an access token": lambda: forge(claims(typ="refresh")),
    "no session id": lambda: forge({k: v for k, v in claims().items() if k != "sid"}),
    "no expiry": lambda: forge({k: v for k, v in claims().items() if k != "exp"}),
    "session id not a uuid": lambda: forge(claims(sid="1; DROP TABLE accounts.users")),
    "HS512 instead of HS256": lambda: forge(claims(), algorithm="HS512"),
    "alg none": lambda: b64({"alg": "none", "typ": "JWT"}) + "." + b64(claims()) + ".",
    "garbage": lambda: "not.a.jwt",
    "empty signature": lambda: forge(claims()).rsplit(".", 1)[0] + ".",
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_rejected_tokens(case: str) -> None:
    token = REJECTED[case]()
    with pytest.raises(Unauthorized) as caught:
        TokenSigner(hs256_settings()).verify(token)
    assert caught.value.detail == "The access token is invalid; log in again."


def test_tampered_payload_is_rejected() -> None:
    signer = TokenSigner(hs256_settings())
    token, _ = signer.issue(7, SESSION)
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["sub"] = "1"  # try to become user 1
    with pytest.raises(Unauthorized):
        signer.verify(f"{header}.{b64(body)}.{signature}")


def test_expired_token_says_how_to_renew() -> None:
    past = int(time.time()) - 3600
    with pytest.raises(Unauthorized) as caught:
        TokenSigner(hs256_settings()).verify(forge(claims(iat=past, nbf=past, exp=past + 60)))
    assert "expired" in caught.value.detail
    assert "/accounts/v1/refresh" in caught.value.detail


def _pem_pair(private: Any) -> tuple[str, str]:
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate),
    ],
)
def test_asymmetric_algorithms(algorithm: str, make_key: Any) -> None:
    private_pem, public_pem = _pem_pair(make_key())
    signer = TokenSigner(
        hs256_settings(
            jwt_algorithm=algorithm, jwt_secret=None, jwt_private_key=private_pem, jwt_public_key=public_pem
        )
    )
    token, _ = signer.issue(5, SESSION)
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    assert signer.verify(token).user_id == 5
    # Algorithm confusion: an HS256 token keyed with the public key must not pass.
    confused = jwt.api_jws.PyJWS()
    confused._algorithms["HS256"].prepare_key = lambda key: key  # type: ignore[method-assign]
    forged = confused.encode(json.dumps(claims()).encode(), public_pem.encode(), algorithm="HS256")
    with pytest.raises(Unauthorized):
        signer.verify(forged)


def test_asymmetric_algorithm_without_keys_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="JWT_PRIVATE_KEY and JWT_PUBLIC_KEY"):
        TokenSigner(hs256_settings(jwt_algorithm="RS256"))


def test_secret_is_required_outside_the_embedded_default() -> None:
    with pytest.raises(ConfigurationError, match="JWT_SECRET is required"):
        TokenSigner(hs256_settings(jwt_secret=None))
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        TokenSigner(hs256_settings(jwt_secret="short"))


def test_embedded_secret_is_private_and_stable(tmp_path: Path) -> None:
    first = embedded_secret(tmp_path / "data")
    assert len(first) >= 48
    assert embedded_secret(tmp_path / "data") == first
    mode = (tmp_path / "data" / "jwt_secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


async def test_bad_tokens_over_http_get_401_with_a_challenge(client: AppClient, users: Accounts) -> None:
    _, headers = await users.bearer()
    token = headers["Authorization"].split()[1]
    assert (await client.get("/accounts/v1/me", headers=headers)).status_code == 200
    for bad in (
        token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        forge(claims(sub="1"), "x" * 40),
    ):
        answer = await client.get("/accounts/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["detail"] == "The access token is invalid; log in again."
    basic = await client.get("/accounts/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    assert "Bearer" in basic.json()["detail"]


async def test_a_valid_token_for_a_session_that_does_not_exist_is_refused(client: AppClient) -> None:
    stray = forge(claims(sub="1", sid=str(uuid.uuid4())))
    answer = await client.get("/accounts/v1/me", headers={"Authorization": f"Bearer {stray}"})
    assert answer.status_code == 401
    assert "session has ended" in answer.json()["detail"]
