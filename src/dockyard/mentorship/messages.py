"""The `message` texts of the mentorship API, word for word as its clients expect them (spec A.1).

Clients compare these strings, so they are part of the contract. Texts of Dockyard's own additions
(logout, password reset, task edit, export) follow at the end.
"""

from __future__ import annotations

# ruff: noqa: S105 - texts about passwords and tokens, not secrets

# Token failures (A.1)
TOKEN_MISSING = "The authorization token is missing!"
TOKEN_INVALID = "The token is invalid!"
TOKEN_EXPIRED = "The token has expired! Please, login again or refresh it."

# Request-model validation (A.1)
PAYLOAD_INVALID = "Input payload validation failed"

# Users
NAME_FIELD_IS_MISSING = "Name field is missing."
USERNAME_FIELD_IS_MISSING = "The field username is missing."
PASSWORD_FIELD_IS_MISSING = "Password field is missing."
EMAIL_FIELD_IS_MISSING = "Email field is missing."
TERMS_FIELD_IS_MISSING = "Terms and conditions field is missing."
NOT_IN_STRING_FORMAT = "Name, username and password must be in string format."
SPACE_IN_PASSWORD = "Password shouldn't contain spaces."
TERMS_NOT_CHECKED = "Terms and conditions are not checked."
NAME_INVALID = "Your name is invalid."
EMAIL_INVALID = "Your email is invalid."
USERNAME_INVALID = "Your username is invalid."
NEW_USERNAME_INVALID = "Your new username is invalid."
USERNAME_TAKEN = "A user with that username already exists."
EMAIL_TAKEN = "A user with that email already exists."
USER_CREATED = (
    "User was created successfully.A confirmation email has been sent via email. "
    "After confirming your email you can login."
)
CONFIRMATION_INVALID = "The confirmation link is invalid or the token has expired."
ACCOUNT_ALREADY_CONFIRMED = "Account already confirmed."
ACCOUNT_CONFIRMED = "You have confirmed your account. Thanks!"
NOT_REGISTERED = "You are not registered in the system."
ALREADY_CONFIRMED_EMAIL = "You already confirm your email."
VERIFICATION_EMAIL_SENT = "Check your email, a new verification email was sent."
WRONG_USERNAME_OR_PASSWORD = "Username or password is wrong."
VERIFY_EMAIL_BEFORE_LOGIN = "Please verify your email before login."
USER_DOES_NOT_EXIST = "User does not exist."
USER_NOT_FOUND = "User not found."
NO_PROFILE_DATA = "No data for updating profile was sent."
NEED_MENTORING_INVALID = "Field need_mentoring is not valid."
AVAILABLE_TO_MENTOR_INVALID = "Field available_to_mentor is not valid."
USER_UPDATED = "User was updated successfully."
USER_DELETED = "User was deleted successfully."
ONLY_ADMIN_CANNOT_DELETE = "You cannot delete your account, since you are the only Admin left."
CURRENT_PASSWORD_MISSING = "Current password field is missing."
NEW_PASSWORD_MISSING = "New password field is missing."
NEW_PASSWORD_SAME = "New password should not be same as the current password."
CURRENT_PASSWORD_INCORRECT = "Current password is incorrect."
PASSWORD_UPDATED = "Password was updated successfully."

# Relations
MENTOR_ID_FIELD_IS_MISSING = "Mentor ID field is missing."
MENTEE_ID_FIELD_IS_MISSING = "Mentee ID field is missing."
END_DATE_FIELD_IS_MISSING = "End date field is missing."
NOTES_FIELD_IS_MISSING = "Notes field is missing."
MATCH_EITHER_MENTOR_OR_MENTEE = "Your ID has to match either Mentor or Mentee IDs."
RELATION_WITH_YOURSELF = "You cannot have a mentorship relation with yourself."
INVALID_END_DATE = "Validation error. End date represented by the timestamp is invalid."
END_DATE_PASSED = "End date is invalid since date has passed."
DURATION_TOO_LONG = "Mentorship relation maximum duration is 6 months."
DURATION_TOO_SHORT = "Mentorship relation minimum duration is 4 week."
MENTOR_DOES_NOT_EXIST = "Mentor user does not exist."
MENTEE_DOES_NOT_EXIST = "Mentee user does not exist."
MENTOR_NOT_AVAILABLE = "Mentor user is not available to mentor."
MENTEE_NOT_AVAILABLE = "Mentee user is not available to be mentored."
MENTOR_IN_RELATION = "Mentor user is already in a relationship."
MENTEE_IN_RELATION = "Mentee user is already in a relationship."
RELATION_SENT = "Mentorship relation was sent successfully."
REQUEST_DOES_NOT_EXIST = "This mentorship relation request does not exist."
RELATION_DOES_NOT_EXIST = "Mentorship relation does not exist."
NOT_PENDING = "This mentorship relation is not in the pending state."
NOT_ACCEPTED = "This mentorship relation status is not in the accepted state."
CANT_ACCEPT_OWN = "You cannot accept a mentorship request sent by yourself."
CANT_ACCEPT_UNINVOLVED = "You cannot accept a mentorship relation where you are not involved."
CANT_REJECT_OWN = "You cannot reject a mentorship request sent by yourself."
CANT_REJECT_UNINVOLVED = "You cannot reject a mentorship relation where you are not involved."
CANT_CANCEL_UNINVOLVED = "You cannot cancel a mentorship relation where you are not involved."
CANT_DELETE_UNINVOLVED = "You cannot delete a mentorship request that you did not create."
ALREADY_IN_RELATION = "You are currently involved in a mentorship relation."
NOT_IN_CURRENT_RELATION = "You are not in a current mentorship relation."
RELATION_ACCEPTED = "Mentorship relation was accepted successfully."
RELATION_REJECTED = "Mentorship relation was rejected successfully."
RELATION_CANCELLED = "Mentorship relation was cancelled successfully."
RELATION_DELETED = "Mentorship relation was deleted successfully."

# Tasks and comments
DESCRIPTION_FIELD_IS_MISSING = "Description field is missing."
NOT_INVOLVED = "You are not involved in this mentorship relation."
TASK_DOES_NOT_EXIST = "Task does not exist."
TASK_ALREADY_ACHIEVED = "Task was already achieved."
TASK_CREATED = "Task was created successfully."
TASK_DELETED = "Task was deleted successfully."
TASK_ACHIEVED = "Task was achieved successfully."
COMMENT_FIELD_IS_MISSING = "Comment field is missing."
COMMENT_NOT_A_STRING = "Comment must be in string format."
COMMENT_DOES_NOT_EXIST = "Task comment does not exist."
COMMENT_NOT_ON_TASK = "Task comment with given task id does not exist."
COMMENT_NOT_YOURS_MODIFY = "You have not created the comment and therefore cannot modify it."
COMMENT_NOT_YOURS_DELETE = "You have not created the comment and therefore cannot delete it."
COMMENT_CREATED = "Task comment was created successfully."
COMMENT_UPDATED = "Task comment was updated successfully."
COMMENT_DELETED = "Task comment was deleted successfully."

# Admins
ALREADY_ADMIN = "User is already an Admin."
CANNOT_ASSIGN_YOURSELF = "You cannot assign yourself as an Admin."
NOT_AN_ADMIN = "User is not an Admin."
ADMIN_REVOKED = "User admin status was revoked."
CANNOT_REVOKE_OWN = "You cannot revoke your adminstatus."
ASSIGN_NOT_ADMIN = "You don't have admin status. You can't assign other user as admin."
REVOKE_NOT_ADMIN = "You don't have admin status. You can't revoke other admin user."
NOW_ADMIN = "User is now an Admin."

# Dockyard's additions
LOGGED_OUT = "You are logged out: this session's tokens no longer work."
RESET_SENT = "If the email belongs to a registered user, a password reset token was sent to it."
RESET_TOKEN_INVALID = "The reset token is invalid, already used or expired; request a new one."
RESET_DONE = "Password was reset successfully; log in with the new one."
TOKEN_FIELD_IS_MISSING = "Token field is missing."
TASK_UPDATED = "Task was updated successfully."
TASK_NOT_ACHIEVED = "Task is not achieved yet."
TASK_REOPENED = "Task was marked as not achieved."
NOT_A_JSON_OBJECT = "The request body must be a JSON object."
BODY_NOT_JSON = "Failed to decode JSON object: {error}"


def length_message(field: str, min_length: int | None, max_length: int) -> str:
    """The original's length rule message (validation_utils.get_length_validation_error_message)."""
    if min_length is None:
        return f"The {field} field has to be shorter than {max_length + 1} characters."
    return (
        f"The {field} field has to be longer than {min_length - 1} characters "
        f"and shorter than {max_length + 1} characters."
    )
