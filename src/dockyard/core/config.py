"""The core's settings: every knob is an environment variable (or a line in `.env`) with a safe default.

Services keep their own settings (`<service>/settings.py`, declared on their `Service`);
docs/CONFIGURATION.md lists them all, and a test keeps the two in step.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]


def _default_db_dir() -> Path:
    """`db/` of a source checkout when running from one, else `./db` (the container layout)."""
    checkout = REPO_ROOT / "db"
    return checkout if (checkout / "scripts").is_dir() else Path("db").resolve()


CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Dockyard's configuration, read from the environment and an optional `.env` file."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Database
    database_url: SecretStr | None = Field(
        default=None, description="Primary PostgreSQL URL; unset means an embedded server under DATA_DIR."
    )
    database_replica_urls: CommaList = Field(
        default_factory=list, description="Comma-separated read-replica URLs used by read-only handlers."
    )
    db_replica_max_lag_s: float = Field(
        default=30.0,
        gt=0,
        description="A replica whose replay is further behind than this serves no reads until it catches up.",
    )
    db_replica_probe_s: float = Field(
        default=5.0, gt=0, description="Seconds between two health and lag probes of each replica."
    )
    db_pool_min: int = Field(default=1, ge=0, description="Connections each pool opens at start.")
    db_pool_max: int = Field(default=10, ge=1, description="Most connections per pool and worker.")
    db_acquire_timeout_s: float = Field(
        default=10.0, gt=0, description="Longest wait for a free connection before answering 503."
    )
    db_acquire_queue_max: int = Field(
        default=64,
        ge=0,
        description="Requests that may wait for a pooled connection; past that, 503 at once (0: no bound).",
    )
    statement_timeout_s: float = Field(
        default=30.0, gt=0, description="Per-statement timeout; a query running longer answers 504."
    )
    db_random_page_cost: float = Field(
        default=1.1,
        gt=0,
        description="The planner's random_page_cost for Dockyard's sessions (1.1: SSD or cached data).",
    )
    data_dir: Path = Field(
        default=Path(".dockyard"), description="Embedded PostgreSQL data, backups, runtime."
    )
    db_dir: Path = Field(
        default_factory=_default_db_dir, description="Folder holding migrations/ and scripts/."
    )

    # Services
    services: CommaList = Field(default_factory=lambda: ["all"], description="Services to mount, or `all`.")

    # HTTP
    cors_origins: CommaList = Field(
        default_factory=list, description="Origins allowed by CORS; empty = none."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description="Largest request body accepted (413 beyond); services raise it for their own routes.",
    )
    trusted_proxies: CommaList = Field(
        default_factory=list,
        description="Addresses/CIDRs whose X-Forwarded-For/Proto/Host are honoured (`*`: any); empty = none.",
    )
    allowed_hosts: CommaList = Field(
        default_factory=list,
        description="Host names served (`*`: any; `.example.org`: its subdomains too); "
        "empty = localhost, 127.0.0.1, ::1 and PUBLIC_URL's host.",
    )
    gzip_min_bytes: int = Field(default=1024, ge=0, description="Smallest body that is gzip-compressed.")
    hsts_max_age_s: int = Field(default=31_536_000, ge=0, description="HSTS max-age sent over https.")

    # Caching and rate limits
    redis_url: SecretStr | None = Field(default=None, description="Redis for shared cache and rate limits.")
    redis_timeout_s: float = Field(
        default=0.1,
        gt=0,
        description="Longest wait for Redis; past it, Redis is skipped (memory fallback) until it answers.",
    )

    # Accounts: tokens
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 signing secret (>= 32 bytes); required with DATABASE_URL. Embedded: generated.",
    )
    jwt_algorithm: Literal["HS256", "RS256", "EdDSA"] = Field(default="HS256", description="JWT algorithm.")
    jwt_private_key: SecretStr | None = Field(default=None, description="PEM private key for RS256/EdDSA.")
    jwt_public_key: str | None = Field(default=None, description="PEM public key for RS256/EdDSA.")
    jwt_issuer: str = Field(default="dockyard", description="`iss` of issued tokens, checked on use.")
    jwt_audience: str = Field(default="dockyard", description="`aud` of issued tokens, checked on use.")
    access_token_ttl_s: int = Field(default=900, ge=30, description="Access-token lifetime (15 min).")
    refresh_token_ttl_s: int = Field(
        default=30 * 86400, ge=300, description="Refresh-token lifetime (30 days)."
    )
    password_hash_memory_kib: int = Field(
        default=65_536,
        ge=1024,
        description="argon2id memory per password hash, in KiB (64 MiB); lower only for test suites.",
    )
    password_hash_time_cost: int = Field(
        default=3, ge=1, description="argon2id passes per password hash; lower only for test suites."
    )

    # Accounts: mail
    smtp_host: str | None = Field(
        default=None, description="SMTP server; unset = mails go to accounts.outbox only."
    )
    smtp_port: int = Field(default=587, description="SMTP port.")
    smtp_user: str | None = Field(default=None, description="SMTP login.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_from: str = Field(default="Dockyard <no-reply@localhost>", description="From: of outgoing mail.")
    public_url: str = Field(
        default="",
        description="Base URL used in links sent by email [default: http://HOST:PORT of `dockyard serve`].",
    )

    # Rate limits (`limits` notation: "10/minute", "250000/day"; several separated by ';')
    rate_limit_anonymous: str = Field(
        default="250000/day", description="Budget per client IP without a login."
    )
    rate_limit_user: str = Field(default="1000000/day", description="Budget per authenticated user.")
    rate_limit_login: str = Field(
        default="10/minute;50/hour",
        description="Failed logins per account and client address; past it that address gets 429.",
    )
    rate_limit_login_ip: str = Field(
        default="30/minute;300/hour", description="Failed logins per client address, over all accounts."
    )
    login_slowdown_after: int = Field(
        default=20,
        ge=1,
        description="Failed logins on one account within an hour, from all addresses, after which each "
        "attempt on it waits before it is checked (doubling) and the owner is mailed (once a day).",
    )
    login_slowdown_max_s: float = Field(
        default=10.0, ge=0, le=60, description="Longest wait of a login attempt on a flooded account."
    )
    rate_limit_register: str = Field(default="5/minute;20/hour", description="Registrations per IP.")
    rate_limit_mail: str = Field(
        default="3/hour", description="Verification resends and resets per account and client address."
    )
    rate_limit_mail_ip: str = Field(
        default="20/hour", description="Verification resends and resets per client address, all accounts."
    )
    rate_limit_mail_account: str = Field(
        default="5/hour",
        description="Verification and reset mails sent to one account, whoever asks; past it requests "
        "get the same answer but no new mail (the mails sent stay valid).",
    )

    # Metrics
    metrics_token: SecretStr | None = Field(
        default=None, description="Bearer token that lets a scraper read /metrics from any address."
    )
    metrics_allow: CommaList = Field(
        default_factory=lambda: ["127.0.0.1/32", "::1/128"],
        description="Addresses/CIDRs that may read /metrics without the token.",
    )
    metrics_cache_s: float = Field(
        default=15.0, ge=0, description="Reuse services' metrics this long (the scrape interval)."
    )
    rate_limit_metrics: str = Field(default="120/minute", description="Scrapes of /metrics per client IP.")

    # Serving
    worker_healthcheck_timeout_s: int = Field(
        default=30,
        ge=1,
        description="How long the server's supervisor waits for a worker's answer before killing it "
        "(a worker booting on a loaded machine can take more than uvicorn's 5 s).",
    )

    # Logging
    log_format: Literal["json", "console"] = Field(default="json", description="Log line format on stdout.")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, NOTICE, WARNING or ERROR.")

    # First start of the embedded default
    seed_demo: bool = Field(default=True, description="Load demo data on an embedded database's first start.")

    @field_validator(
        "database_replica_urls",
        "services",
        "cors_origins",
        "trusted_proxies",
        "allowed_hosts",
        "metrics_allow",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"LOG_LEVEL must be DEBUG, INFO, NOTICE, WARNING or ERROR, not {value!r}")
        return level

    @model_validator(mode="after")
    def _public_url_follows_the_server(self) -> Settings:
        if not self.public_url:
            # HOST/PORT are what `dockyard serve` binds; a wildcard address is no link target.
            host = os.environ.get("HOST", "127.0.0.1")
            host = "localhost" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104 - compared, not bound
            host = f"[{host}]" if ":" in host else host
            self.public_url = f"http://{host}:{os.environ.get('PORT', '8000')}"
        return self

    def served_hosts(self) -> list[str]:
        """ALLOWED_HOSTS, or the hosts a default install is reached by."""
        if self.allowed_hosts:
            return list(self.allowed_hosts)
        public = urlsplit(self.public_url).hostname
        return ["localhost", "127.0.0.1", "::1", *([public] if public else [])]

    @property
    def embedded(self) -> bool:
        """True when no DATABASE_URL is configured and an embedded server must be used."""
        return self.database_url is None

    @property
    def migrations_dir(self) -> Path:
        """The folder of migration files the schema must match."""
        return self.db_dir / "migrations"

    @property
    def scripts_dir(self) -> Path:
        """The folder of db/scripts/*.sh."""
        return self.db_dir / "scripts"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
