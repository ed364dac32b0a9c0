"""Request and response bodies of the mentorship API, named and shaped as the original's models.

Titles are the original's Swagger model names (its clients' generated code was built from them).
Dates are UNIX seconds as floats; relation states are 1 PENDING, 2 ACCEPTED, 3 REJECTED,
4 CANCELLED, 5 COMPLETED. Request bodies are documented here but checked by hand, in the
original's order (`payload`, `validation`); responses are built as JSON by PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

State = int


def titled(title: str) -> ConfigDict:
    return ConfigDict(title=title)


# --- requests ---------------------------------------------------------------------------------


class RegisterRequest(BaseModel):
    model_config = titled("User registration model")
    name: str = Field(description="User name: letters, spaces and `-`, 2 to 30 characters.")
    username: str = Field(description="User username: letters, digits and `_`, 5 to 25 characters.")
    password: str = Field(description="User password: 8 to 64 characters, no spaces.")
    email: str = Field(description="User email")
    terms_and_conditions_checked: bool = Field(description="User check Terms and Conditions value")
    need_mentoring: bool = Field(default=False, description="User need mentoring indication")
    available_to_mentor: bool = Field(default=False, description="User availability to mentor indication")


class LoginRequest(BaseModel):
    model_config = titled("Login request data model")
    username: str = Field(description="User's username or email")
    password: str = Field(description="User's password")


class ResendEmailRequest(BaseModel):
    model_config = titled("Resend email request data model")
    email: str = Field(description="User's email")


class ChangePasswordRequest(BaseModel):
    model_config = titled("Change password request data model")
    current_password: str = Field(description="User's current password")
    new_password: str = Field(description="User's new password: 8 to 64 characters, no spaces.")


class UpdateUserRequest(BaseModel):
    model_config = titled("Update User request data model")
    name: str | None = Field(default=None, description="User name")
    username: str | None = Field(default=None, description="User username")
    bio: str | None = Field(default=None, description="User bio (450 characters)")
    location: str | None = Field(default=None, description="User location (60)")
    occupation: str | None = Field(default=None, description="User occupation (60)")
    organization: str | None = Field(default=None, description="User organization (60)")
    slack_username: str | None = Field(default=None, description="User slack username (60)")
    social_media_links: str | None = Field(default=None, description="User social media links (400)")
    skills: str | None = Field(default=None, description="User skills (450)")
    interests: str | None = Field(default=None, description="User interests (150)")
    resume_url: str | None = Field(default=None, description="User resume url")
    photo_url: str | None = Field(default=None, description="User photo url")
    need_mentoring: bool | None = Field(default=None, description="User need mentoring indication")
    available_to_mentor: bool | None = Field(
        default=None, description="User availability to mentor indication"
    )


class SendRequestBody(BaseModel):
    model_config = titled("Send mentorship relation request model")
    mentor_id: int = Field(description="Mentorship relation mentor ID")
    mentee_id: int = Field(description="Mentorship relation mentee ID")
    end_date: float = Field(description="Mentorship relation end date in UNIX timestamp format")
    notes: str = Field(description="Mentorship relation notes (400 characters)")


class CreateTaskRequest(BaseModel):
    model_config = titled("Create task request model")
    description: str = Field(description="Mentorship relation task description")


class TaskCommentRequest(BaseModel):
    model_config = titled("Task comment model")
    comment: str = Field(description="Task comment (400 characters).")


class AdminTargetRequest(BaseModel):
    model_config = titled("Assign User model")
    user_id: int = Field(description="The unique identifier of a user")


class ResetPasswordRequest(BaseModel):
    model_config = titled("Password reset request model")
    email: str = Field(description="The email of the account")


class ResetPasswordConfirm(BaseModel):
    model_config = titled("Password reset confirmation model")
    token: str = Field(description="The token from the reset mail")
    new_password: str = Field(description="8 to 64 characters, no spaces.")


# --- responses --------------------------------------------------------------------------------


class Message(BaseModel):
    message: str


class LoginResponse(BaseModel):
    model_config = titled("Login response data model")
    access_token: str = Field(description="User's access token")
    access_expiry: float = Field(description="Access token expiry UNIX timestamp")
    refresh_token: str = Field(description="User's refresh token")
    refresh_expiry: float = Field(description="Refresh token expiry UNIX timestamp")


class RefreshResponse(BaseModel):
    model_config = titled("Refresh response data model")
    access_token: str = Field(description="User's access token")
    access_expiry: float = Field(description="Access token expiry UNIX timestamp")
    refresh_token: str = Field(description="The next refresh token: the one sent no longer works")
    refresh_expiry: float = Field(description="Refresh token expiry UNIX timestamp")


class PublicUser(BaseModel):
    model_config = titled("User list model")
    id: int = Field(description="The unique identifier of a user")
    username: str | None
    name: str
    slack_username: str | None
    bio: str | None
    location: str | None
    occupation: str | None
    organization: str | None
    interests: str | None
    skills: str | None
    need_mentoring: bool
    available_to_mentor: bool
    is_available: bool = Field(
        description="Not in an accepted relation, and needs mentoring or is available to mentor"
    )
    registration_date: float


class FullUser(BaseModel):
    model_config = titled("User Complete model used in listing")
    id: int
    name: str
    username: str | None
    email: str
    terms_and_conditions_checked: bool
    is_admin: bool
    registration_date: float
    is_email_verified: bool
    email_verification_date: str | None = Field(description="ISO 8601, UTC")
    bio: str | None
    location: str | None
    occupation: str | None
    organization: str | None
    slack_username: str | None
    social_media_links: str | None
    skills: str | None
    interests: str | None
    resume_url: str | None
    photo_url: str | None
    need_mentoring: bool
    available_to_mentor: bool
    current_mentorship_role: int | None
    membership_status: int | None


class AdminUser(BaseModel):
    model_config = titled("Admin user list model")
    id: int
    username: str | None
    name: str
    slack_username: str | None
    bio: str | None
    location: str | None
    occupation: str | None
    organization: str | None
    skills: str | None


class Task(BaseModel):
    model_config = titled("List tasks response model")
    id: int = Field(description="Task ID (counted per relation)")
    description: str
    created_at: float
    completed_at: float | None


class Achievement(Task):
    model_config = titled("Achievement model")
    is_done: bool


class Home(BaseModel):
    model_config = titled("Get statistics on the app usage of the current user")
    name: str
    pending_requests: int
    accepted_requests: int
    rejected_requests: int
    completed_relations: int
    cancelled_relations: int
    achievements: list[Achievement] = Field(description="Up to 3 completed tasks, the latest first")


class RelationUser(BaseModel):
    model_config = titled("User")
    id: int
    name: str


class Relation(BaseModel):
    model_config = titled("List mentorship relation request model")
    id: int
    action_user_id: int
    sent_by_me: bool
    mentor: RelationUser
    mentee: RelationUser
    creation_date: float
    accept_date: float | None
    start_date: float | None
    end_date: float
    state: State = Field(ge=1, le=5)
    notes: str


class DashboardUser(BaseModel):
    model_config = titled("User details for dashboard")
    id: int
    user_name: str
    photo_url: str | None


class DashboardRelation(BaseModel):
    model_config = titled("List mentorship relation request model for user dashboard")
    id: int
    action_user_id: int
    mentor: DashboardUser
    mentee: DashboardUser
    creation_date: float
    accept_date: float | None
    start_date: float | None
    end_date: float
    state: State = Field(ge=1, le=5)
    notes: str


class RelationsByState(BaseModel):
    model_config = titled("Relations by state")
    accepted: list[DashboardRelation]
    rejected: list[DashboardRelation]
    completed: list[DashboardRelation]
    cancelled: list[DashboardRelation]
    pending: list[DashboardRelation]


class SentReceived(BaseModel):
    model_config = titled("Get received and sent relations")
    sent: RelationsByState
    received: RelationsByState


class Dashboard(BaseModel):
    model_config = titled("Get user dashboard")
    as_mentor: SentReceived
    as_mentee: SentReceived
    tasks_todo: list[Task] | None = Field(default=None, description="Only while in an accepted relation")
    tasks_done: list[Task] | None = Field(default=None, description="Only while in an accepted relation")


class TaskComment(BaseModel):
    model_config = titled("Task comments model")
    id: int
    user_id: int
    task_id: int = Field(description="The task's id within its relation")
    relation_id: int
    creation_date: float
    modification_date: float | None
    comment: str


class Export(BaseModel):
    model_config = titled("Account data export")
    exported_at: float
    user: FullUser
    relations: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    comments: list[dict[str, Any]]


def request_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` documenting a JSON body the route reads by hand."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
