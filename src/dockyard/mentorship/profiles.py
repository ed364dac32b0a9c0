"""The caller's own profile: read, update, export, and delete (anonymise) it.

Deleting an account anonymises instead of orphaning (the original hard-deleted the user and left
its relations pointing at nothing, spec A.6): the profile row stays as "Deleted user" so relations
keep both parties, the active relation and pending requests are cancelled, tasks and comments stay
readable to the partner, and the account's identity and credentials go (accounts.anonymise_account).
"""

from __future__ import annotations

from typing import Any

from dockyard.accounts import mail
from dockyard.accounts.service import anonymise_account, set_display_name
from dockyard.core.db import Connection
from dockyard.core.errors import BadInput
from dockyard.mentorship import members, messages, notify, validation
from dockyard.mentorship.members import epoch

FULL_USER_JSON = f"""json_build_object(
    'id', p.user_id, 'name', p.name, 'username', p.username, 'email', u.email,
    'terms_and_conditions_checked', p.terms_and_conditions_checked, 'is_admin', p.is_admin,
    'registration_date', {epoch("p.registration_date")},
    'is_email_verified', u.email_verified_at IS NOT NULL,
    'email_verification_date',
        to_char(u.email_verified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
    'bio', p.bio, 'location', p.location, 'occupation', p.occupation, 'organization', p.organization,
    'slack_username', p.slack_username, 'social_media_links', p.social_media_links, 'skills', p.skills,
    'interests', p.interests, 'resume_url', p.resume_url, 'photo_url', p.photo_url,
    'need_mentoring', p.need_mentoring, 'available_to_mentor', p.available_to_mentor,
    'current_mentorship_role', NULL, 'membership_status', NULL)"""
OF_USER = """FROM mentorship.profiles p JOIN accounts.users u ON u.id = p.user_id
WHERE p.user_id = $1 AND p.deleted_at IS NULL"""
FULL_USER = f"SELECT {FULL_USER_JSON}::text {OF_USER}"


async def own_profile(conn: Connection, user_id: int) -> str:
    """The caller's full profile as JSON text."""
    await members.member(conn, user_id)
    text: str = await conn.fetchval(FULL_USER, user_id)
    return text


# Columns PUT /user may set, in the order the original applies them.
TEXT_COLUMNS = (*validation.PROFILE_TEXT_LIMITS, *validation.PROFILE_URLS)
FLAG_COLUMNS = tuple(validation.PROFILE_FLAGS)


async def update_profile(conn: Connection, user_id: int, data: dict[str, Any]) -> None:
    """Apply a validated partial update: an empty value clears a field, unknown keys are ignored."""
    await members.member(conn, user_id, lock=True)
    changes: dict[str, Any] = {}
    username = data.get("username")
    if username:
        if await conn.fetchval(
            "SELECT 1 FROM mentorship.profiles WHERE lower(username) = lower($1)", username
        ):
            raise BadInput(messages.USERNAME_TAKEN)
        changes["username"] = username
    if data.get("name"):
        changes["name"] = data["name"]
    for column in TEXT_COLUMNS:
        if column in data:
            changes[column] = data[column] or None
    for column in FLAG_COLUMNS:
        if column in data:
            changes[column] = data[column]
    if not changes:
        return
    # Column names come from the fixed tuples above, never from the request.
    assignments = ", ".join(f"{column} = ${index}" for index, column in enumerate(changes, start=2))
    await conn.execute(
        f"UPDATE mentorship.profiles SET {assignments} WHERE user_id = $1", user_id, *changes.values()
    )
    if "name" in changes:
        await set_display_name(conn, user_id, changes["name"])


ADMINS_LOCKED = "SELECT user_id FROM mentorship.profiles WHERE is_admin AND deleted_at IS NULL FOR UPDATE"

# The relations a leaving user is still part of: the active one and pending requests.
OPEN_RELATIONS = """SELECT r.id, r.state,
    CASE WHEN r.mentor_id = $1 THEN r.mentee_id ELSE r.mentor_id END AS partner
FROM mentorship.relation_parties rp JOIN mentorship.relations r ON r.id = rp.relation_id
WHERE rp.user_id = $1 AND rp.state IN (1, 2)
ORDER BY r.id
FOR UPDATE OF r"""

ANONYMISE_PROFILE = f"""UPDATE mentorship.profiles SET
    username = NULL, name = '{members.DELETED_NAME}', is_admin = false, bio = NULL, location = NULL,
    occupation = NULL, organization = NULL, slack_username = NULL, social_media_links = NULL, skills = NULL,
    interests = NULL, resume_url = NULL, photo_url = NULL, need_mentoring = false,
    available_to_mentor = false, deleted_at = now()
WHERE user_id = $1"""


async def remove_member(conn: Connection, user_id: int) -> list[mail.Mail]:
    """Cancel the user's open relations and anonymise profile and account; mails for the partner."""
    open_relations = await conn.fetch(OPEN_RELATIONS, user_id)
    await conn.fetch("SELECT 1 FROM mentorship.profiles WHERE user_id = $1 FOR UPDATE", user_id)
    if open_relations:
        await conn.execute(
            "UPDATE mentorship.relations SET state = 4 WHERE id = ANY($1::bigint[])",
            [row["id"] for row in open_relations],
        )
    outgoing = []
    for row in open_relations:
        if row["state"] != members.ACCEPTED:
            continue
        partner = await members.find(conn, row["partner"])
        if partner is not None:
            outgoing.append(
                await notify.partner_left(conn, recipient=partner.email, recipient_name=partner.name)
            )
    await conn.execute(ANONYMISE_PROFILE, user_id)
    await anonymise_account(conn, user_id)
    return outgoing


async def delete_account(conn: Connection, user_id: int) -> list[mail.Mail]:
    """DELETE /user: refused for the only admin (400); else the user is removed (anonymised)."""
    caller = await members.member(conn, user_id)
    if caller.is_admin:
        admins = await conn.fetch(ADMINS_LOCKED)
        if len(admins) <= 1:
            raise BadInput(messages.ONLY_ADMIN_CANNOT_DELETE)
    return await remove_member(conn, user_id)


EXPORT = f"""WITH mine AS (
    SELECT r.* FROM mentorship.relation_parties rp JOIN mentorship.relations r ON r.id = rp.relation_id
    WHERE rp.user_id = $1
)
SELECT json_build_object(
    'exported_at', {epoch("now()")},
    'user', (SELECT {FULL_USER_JSON} {OF_USER}),
    'relations', coalesce((SELECT json_agg(json_build_object(
        'id', m.id, 'mentor_id', m.mentor_id, 'mentee_id', m.mentee_id, 'action_user_id', m.action_user_id,
        'creation_date', {epoch("m.creation_date")}, 'accept_date', {epoch("m.accept_date")},
        'start_date', {epoch("m.start_date")}, 'end_date', {epoch("m.end_date")},
        'state', m.state, 'notes', m.notes) ORDER BY m.id) FROM mine m), '[]'),
    'tasks', coalesce((SELECT json_agg(json_build_object(
        'relation_id', t.relation_id, 'id', t.number, 'description', t.description, 'is_done', t.is_done,
        'created_at', {epoch("t.created_at")}, 'completed_at', {epoch("t.completed_at")})
        ORDER BY t.relation_id, t.number)
        FROM mentorship.tasks t WHERE t.relation_id IN (SELECT id FROM mine)), '[]'),
    'comments', coalesce((SELECT json_agg(json_build_object(
        'id', c.id, 'relation_id', t.relation_id, 'task_id', t.number, 'comment', c.comment,
        'creation_date', {epoch("c.creation_date")}, 'modification_date', {epoch("c.modification_date")})
        ORDER BY c.id) FROM mentorship.task_comments c JOIN mentorship.tasks t ON t.id = c.task_id
        WHERE c.user_id = $1), '[]'))::text"""


async def export(conn: Connection, user_id: int) -> str:
    """Everything the programme stores about the caller, as JSON text."""
    await members.member(conn, user_id)
    text: str = await conn.fetchval(EXPORT, user_id)
    return text
