"""The original's field rules (validations/user.py, validations/task_comment.py), in their order.

Lengths are counted after removing every whitespace character, as the original does; patterns
must match the whole value (the original's `$` also let a trailing newline through).
"""

from __future__ import annotations

import re
from typing import Any

from dockyard.mentorship import messages

NAME_MIN, NAME_MAX = 2, 30
USERNAME_MIN, USERNAME_MAX = 5, 25
PASSWORD_MIN, PASSWORD_MAX = 8, 64
COMMENT_MAX = 400
NOTES_MAX = 400
URL_MAX = 2000
EMAIL_MAX = 254

# Free-text profile fields and their longest length (after whitespace is removed).
PROFILE_TEXT_LIMITS = {
    "bio": 450,
    "location": 60,
    "occupation": 60,
    "organization": 60,
    "slack_username": 60,
    "social_media_links": 400,
    "skills": 450,
    "interests": 150,
}
PROFILE_URLS = ("resume_url", "photo_url")
PROFILE_FLAGS = {
    "need_mentoring": messages.NEED_MENTORING_INVALID,
    "available_to_mentor": messages.AVAILABLE_TO_MENTOR_INVALID,
}

NAME = re.compile(r"[a-zA-Z\s\-]+")
EMAIL = re.compile(r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9\-.]+")
USERNAME = re.compile(r"[a-zA-Z0-9_]+")


def stripped_length(text: str) -> int:
    """Length without any whitespace (validation_utils.get_stripped_string)."""
    return len("".join(text.split()))


def length_error(text: str, field: str, min_length: int, max_length: int) -> str | None:
    """The length message when `text` (whitespace removed) is outside min..max, else None."""
    if min_length <= stripped_length(text) <= max_length:
        return None
    return messages.length_message(field, min_length if min_length > 0 else None, max_length)


def is_email(value: Any) -> bool:
    """True when `value` is an address the original accepts (and fits accounts' 254 characters)."""
    return isinstance(value, str) and len(value) <= EMAIL_MAX and EMAIL.fullmatch(value) is not None


def registration_error(data: dict[str, Any]) -> str | None:
    """The first rule a registration breaks, after the request model passed (A.2 /register)."""
    for field, message in (
        ("name", messages.NAME_FIELD_IS_MISSING),
        ("username", messages.USERNAME_FIELD_IS_MISSING),
        ("password", messages.PASSWORD_FIELD_IS_MISSING),
        ("email", messages.EMAIL_FIELD_IS_MISSING),
        ("terms_and_conditions_checked", messages.TERMS_FIELD_IS_MISSING),
    ):
        if field not in data:
            return message
    name, username, password = data["name"], data["username"], data["password"]
    if not (isinstance(name, str) and isinstance(username, str) and isinstance(password, str)):
        return messages.NOT_IN_STRING_FORMAT
    if " " in password:
        return messages.SPACE_IN_PASSWORD
    for text, field, low, high in (
        (name, "name", NAME_MIN, NAME_MAX),
        (username, "username", USERNAME_MIN, USERNAME_MAX),
        (password, "password", PASSWORD_MIN, PASSWORD_MAX),
    ):
        if error := length_error(text, field, low, high):
            return error
    if not data["terms_and_conditions_checked"]:
        return messages.TERMS_NOT_CHECKED
    if not NAME.fullmatch(name):
        return messages.NAME_INVALID
    if not is_email(data["email"]):
        return messages.EMAIL_INVALID
    if not USERNAME.fullmatch(username):
        return messages.USERNAME_INVALID
    return None


def profile_update_error(data: Any) -> str | None:
    """The first rule a profile update breaks (A.2 PUT /user)."""
    if not data or not isinstance(data, dict):
        return messages.NO_PROFILE_DATA
    for field in ("username", "name", *PROFILE_TEXT_LIMITS, *PROFILE_URLS):
        value = data.get(field)
        if value is not None and not isinstance(value, str):
            return f"The {field} field has to be a string."
    username = data.get("username")
    if username:
        if error := length_error(username, "username", USERNAME_MIN, USERNAME_MAX):
            return error
        if not USERNAME.fullmatch(username):
            return messages.NEW_USERNAME_INVALID
    name = data.get("name")
    if name:
        if error := length_error(name, "name", NAME_MIN, NAME_MAX):
            return error
        if not NAME.fullmatch(name):
            return messages.NAME_INVALID
    for field, limit in PROFILE_TEXT_LIMITS.items():
        value = data.get(field)
        if value and (error := length_error(value, field, 0, limit)):
            return error
    for field in PROFILE_URLS:
        value = data.get(field)
        if value and len(value) > URL_MAX:
            return messages.length_message(field, None, URL_MAX)
    for field, message in PROFILE_FLAGS.items():
        if field in data and not isinstance(data[field], bool):
            return message
    return None


def new_password_error(data: dict[str, Any]) -> str | None:
    """The first rule a password change breaks (A.2 PUT /user/change_password)."""
    if "current_password" not in data:
        return messages.CURRENT_PASSWORD_MISSING
    if "new_password" not in data:
        return messages.NEW_PASSWORD_MISSING
    return password_error(data["new_password"], field="new_password", current=data["current_password"])


def password_error(new: Any, *, field: str, current: Any = None) -> str | None:
    """The original's rules for a new password: not the current one, no space, 8 to 64 characters."""
    if not isinstance(new, str):
        return messages.NOT_IN_STRING_FORMAT
    if current is not None and current == new:
        return messages.NEW_PASSWORD_SAME
    if " " in new:
        return messages.SPACE_IN_PASSWORD
    return length_error(new, field, PASSWORD_MIN, PASSWORD_MAX)


def comment_error(data: dict[str, Any]) -> str | None:
    """The first rule a task comment breaks (validations/task_comment.py)."""
    if "comment" not in data:
        return messages.COMMENT_FIELD_IS_MISSING
    if not isinstance(data["comment"], str):
        return messages.COMMENT_NOT_A_STRING
    return length_error(data["comment"], "comment", 0, COMMENT_MAX)
