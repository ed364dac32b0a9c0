"""Request and response bodies of /accounts/v1."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import email_validator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema


def _email(value: str) -> str:
    try:
        # RFC 2606 reserves `.test` for testing; the other special-use domains stay refused.
        checked = email_validator.validate_email(value, check_deliverability=False, test_environment=True)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(f"value is not a valid email address: {exc}") from exc
    return checked.normalized


Email = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})]
Password = Annotated[str, Field(min_length=8, max_length=128, description="8 to 128 characters.")]
AnyPassword = Annotated[str, Field(min_length=1, max_length=128)]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{3,64}$")]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
DisplayName = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
Description = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]
Token = Annotated[str, Field(min_length=10, max_length=200)]
Codename = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")]
GROUP_NAME = r"^[A-Za-z0-9_. -]{1,80}$"  # as the table's CHECK


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Strict):
    email: Email
    password: Password
    display_name: DisplayName = ""
    username: Username | None = None


class LoginIn(Strict):
    email: Email
    password: AnyPassword


class RefreshIn(Strict):
    refresh_token: Token


class TokenIn(Strict):
    token: Token


class EmailIn(Strict):
    email: Email


class PasswordChangeIn(Strict):
    current_password: AnyPassword
    new_password: Password


class ResetConfirmIn(Strict):
    token: Token
    new_password: Password


class PasswordIn(Strict):
    password: AnyPassword


class MePatch(Strict):
    display_name: DisplayName | None = None
    username: Username | None = None


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds the access token stays valid.")


class UserOut(BaseModel):
    id: int
    email: str
    username: str | None
    display_name: str
    is_active: bool
    is_superuser: bool
    email_verified: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    groups: list[str] = []
    permissions: list[str] = []


class MessageOut(BaseModel):
    message: str


class PasswordChangedOut(MessageOut):
    sessions_ended: int = Field(description="Sessions ended (every other one, or all after a reset).")
    api_tokens_revoked: int = Field(description="API tokens revoked for good; create new ones where needed.")


class ApiTokenIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    scope: list[Codename] | None = Field(
        default=None,
        description="Permissions the token may use (a subset of yours); omit for all of them. Acting on "
        "your own account needs `accounts.self` (profile, export, your lists in every service) or "
        "`accounts.credentials` (sessions, tokens, password) listed here: no token has them otherwise.",
    )


class ApiTokenOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    scope: list[str] | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked: bool
    revoked_why: str | None = Field(
        description="Why it stopped: revoked by its owner, password changed or reset, account deactivated."
    )


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="The token itself. It is shown only this once.")


class GroupIn(Strict):
    name: Annotated[str, StringConstraints(pattern=GROUP_NAME)]
    description: Description = ""
    permissions: list[Codename] = []


class GroupPatch(Strict):
    description: Description | None = None
    permissions: list[Codename] | None = None


class GroupOut(BaseModel):
    id: int
    name: str
    description: str
    permissions: list[str]
    members: int


class UserAdminPatch(Strict):
    is_active: bool | None = None
    is_superuser: bool | None = Field(default=None, description="Only a superuser may change it.")


class UserPage(BaseModel):
    count: int
    results: list[UserOut]


class PermissionOut(BaseModel):
    codename: str
    description: str


class SessionOut(BaseModel):
    id: uuid.UUID
    created_at: dt.datetime
    last_used_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_why: str | None
    user_agent: str
    ip: str | None = Field(description="The address the login came from, when known.")


class ExportOut(BaseModel):
    exported_at: dt.datetime
    account: UserOut
    sessions: list[SessionOut]
    api_tokens: list[ApiTokenOut]
