"""A generated mentorship programme: people, relations, tasks and comments, and its loading by COPY."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from dockyard.accounts.passwords import hash_password
from dockyard.core.seeds import Progress

DOMAIN = "mentorship.example"

FIRST = (
    "Ada",
    "Grace",
    "Katherine",
    "Margaret",
    "Hedy",
    "Radia",
    "Barbara",
    "Frances",
    "Jean",
    "Karen",
    "Shafi",
    "Annie",
    "Lynn",
    "Mary",
    "Joan",
    "Evelyn",
    "Sophie",
    "Anita",
    "Carol",
    "Elizabeth",
    "Dorothy",
    "Ida",
    "Marian",
    "Kathleen",
    "Susan",
    "Limor",
    "Regina",
    "Fei",
    "Daphne",
    "Cynthia",
)
LAST = (
    "Lovelace",
    "Hopper",
    "Johnson",
    "Hamilton",
    "Lamarr",
    "Perlman",
    "Liskov",
    "Allen",
    "Bartik",
    "Sparck",
    "Goldwasser",
    "Easley",
    "Conway",
    "Keller",
    "Clarke",
    "Berezin",
    "Wilson",
    "Borg",
    "Shaw",
    "Feinler",
    "Vaughan",
    "Rhodes",
    "Croft",
    "Booth",
    "Kare",
    "Fried",
    "Barzilay",
    "Li",
    "Koller",
    "Breazeal",
)
SKILLS = (
    "Python",
    "Java",
    "Kotlin",
    "Swift",
    "Flutter",
    "SQL",
    "PostgreSQL",
    "DevOps",
    "Kubernetes",
    "UX design",
    "Testing",
    "Security",
    "Machine learning",
    "Data analysis",
    "Public speaking",
    "Technical writing",
    "Open source",
    "Leadership",
    "Android",
    "iOS",
    "React",
    "Go",
    "Rust",
    "Accessibility",
)
PLACES = ("Lisbon", "Nairobi", "Bangalore", "Toronto", "Berlin", "Lagos", "Sao Paulo", "Manila", "Cairo")
JOBS = ("Software engineer", "Student", "Data scientist", "Designer", "QA engineer", "Engineering manager")
ORGS = ("AnitaB.org", "Open Source Collective", "University of Lisbon", "Acme Corp", "Freelance")
TASKS = (
    "Read the contributing guide",
    "Open a first pull request",
    "Prepare a lightning talk",
    "Write a blog post about the project",
    "Pair on a code review",
    "Set up the development environment",
    "Fix a good-first-issue",
    "Draft a learning plan",
    "Review the architecture document",
    "Mock interview practice",
    "Write tests for a module",
    "Present progress at the weekly call",
)
COMMENTS = (
    "Great progress!",
    "Let's discuss this on our next call.",
    "I pushed a first draft.",
    "Can you share a link?",
    "Done, please review.",
    "This took longer than expected.",
    "Nice work, thank you!",
    "I have a question about the second part.",
)


@dataclass(frozen=True)
class Size:
    """How big a generated programme is."""

    users: int
    relations: int
    accepted: int
    tasks: int
    comments: int
    unverified: int


SIZES = {
    "demo": Size(users=24, relations=40, accepted=6, tasks=60, comments=90, unverified=2),
    "bench": Size(
        users=10_000, relations=50_000, accepted=4_000, tasks=200_000, comments=400_000, unverified=300
    ),
}


@dataclass
class Programme:
    """Rows to load, in COPY order; user and relation references are 0-based positions."""

    users: list[dict[str, Any]] = field(default_factory=list)
    relations: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    comments: list[tuple[int, int, dt.datetime, str]] = field(default_factory=list)

    @classmethod
    def generate(cls, size: Size, seed: int = 7) -> Programme:
        """A deterministic programme of `size`."""
        rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        programme = cls()
        for index in range(size.users):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if index == 0:
                first, last = "Ada", "Admin"
            username = "ada_admin" if index == 0 else f"{first.lower()}_{last.lower()[:10]}{index}"
            mentor = index == 0 or rng.random() < 0.45
            programme.users.append(
                {
                    "username": username,
                    "name": f"{first} {last}",
                    "email": f"{username}@{DOMAIN}",
                    "verified": index == 0 or index > size.unverified,
                    "registered": now
                    - dt.timedelta(days=rng.randint(1, 400), seconds=rng.randint(0, 86_399)),
                    "bio": f"{rng.choice(JOBS)} who loves {rng.choice(SKILLS).lower()}.",
                    "location": rng.choice(PLACES),
                    "occupation": rng.choice(JOBS),
                    "organization": rng.choice(ORGS),
                    "skills": ", ".join(rng.sample(SKILLS, 3)),
                    "interests": ", ".join(rng.sample(SKILLS, 2)),
                    "available_to_mentor": mentor,
                    "need_mentoring": not mentor or rng.random() < 0.2,
                }
            )
        programme._relations(size, rng, now)
        programme._tasks(size, rng, now)
        return programme

    def _relations(self, size: Size, rng: random.Random, now: dt.datetime) -> None:
        # ACCEPTED relations pair distinct users (one accepted relation per user); the others any two.
        people = list(range(size.unverified + 1, size.users))
        rng.shuffle(people)
        accepted_pairs = [(people[2 * i], people[2 * i + 1]) for i in range(size.accepted)]
        for index in range(size.relations):
            if index < size.accepted:
                mentor, mentee = accepted_pairs[index]
                state = 2
            else:
                mentor, mentee = rng.sample(range(size.users), 2)
                state = rng.choice((1, 3, 4, 5, 5))
            created = now - dt.timedelta(days=rng.randint(2, 300), seconds=rng.randint(0, 86_399))
            if state in (1, 2):
                end = now + dt.timedelta(days=rng.randint(10, 150))
            else:
                end = created + dt.timedelta(days=rng.randint(28, 168))
            accepted_at = created + dt.timedelta(days=1) if state in (2, 4, 5) else None
            self.relations.append(
                {
                    "mentor": mentor,
                    "mentee": mentee,
                    "sender": rng.choice((mentor, mentee)),
                    "created": created,
                    "accepted": accepted_at,
                    "end": end,
                    "state": state,
                    "notes": f"Let's work on {rng.choice(SKILLS).lower()} together.",
                    "tasks": 0,
                }
            )

    def _tasks(self, size: Size, rng: random.Random, now: dt.datetime) -> None:
        started = [index for index, relation in enumerate(self.relations) if relation["accepted"] is not None]
        if not started:
            return
        for _ in range(size.tasks):
            position = rng.choice(started)
            relation = self.relations[position]
            relation["tasks"] += 1
            created = relation["accepted"] + dt.timedelta(hours=rng.randint(1, 600))
            done = rng.random() < 0.5
            self.tasks.append(
                {
                    "relation": position,
                    "number": relation["tasks"],
                    "description": rng.choice(TASKS),
                    "created": min(created, now),
                    "completed": min(created + dt.timedelta(hours=rng.randint(1, 200)), now)
                    if done
                    else None,
                }
            )
        for _ in range(size.comments):
            task = rng.randrange(len(self.tasks))
            relation = self.relations[self.tasks[task]["relation"]]
            author = rng.choice((relation["mentor"], relation["mentee"]))
            when = self.tasks[task]["created"] + dt.timedelta(minutes=rng.randint(1, 5000))
            self.comments.append((task, author, min(when, now), rng.choice(COMMENTS)))


CLEAR = """TRUNCATE mentorship.task_comments, mentorship.tasks, mentorship.relation_parties,
    mentorship.relations, mentorship.profiles, mentorship.job_runs RESTART IDENTITY"""


async def load(conn: Any, programme: Programme, password: str, progress: Progress) -> int:
    """Replace the programme's tables (and the seeded accounts) with `programme`; rows written."""
    total = (
        len(programme.users) * 2 + len(programme.relations) + len(programme.tasks) + len(programme.comments)
    )
    done = 0
    await conn.execute(CLEAR)
    await conn.execute("DELETE FROM accounts.users WHERE email LIKE $1", f"%@{DOMAIN}")
    password_hash = await hash_password(password)
    await conn.copy_records_to_table(
        "users",
        schema_name="accounts",
        columns=["email", "display_name", "password_hash", "email_verified_at", "created_at"],
        records=[
            (
                u["email"],
                u["name"],
                password_hash,
                u["registered"] if u["verified"] else None,
                u["registered"],
            )
            for u in programme.users
        ],
    )
    rows = await conn.fetch("SELECT id, email FROM accounts.users WHERE email LIKE $1", f"%@{DOMAIN}")
    by_email = {row["email"]: row["id"] for row in rows}
    ids = [by_email[user["email"]] for user in programme.users]
    done += len(ids)
    progress(done, total)
    await conn.copy_records_to_table(
        "profiles",
        schema_name="mentorship",
        columns=[
            "user_id",
            "username",
            "name",
            "terms_and_conditions_checked",
            "is_admin",
            "registration_date",
            "bio",
            "location",
            "occupation",
            "organization",
            "skills",
            "interests",
            "need_mentoring",
            "available_to_mentor",
        ],
        records=[
            (
                ids[index],
                u["username"],
                u["name"],
                True,
                index == 0,
                u["registered"],
                u["bio"],
                u["location"],
                u["occupation"],
                u["organization"],
                u["skills"],
                u["interests"],
                u["need_mentoring"],
                u["available_to_mentor"],
            )
            for index, u in enumerate(programme.users)
        ],
    )
    done += len(ids)
    progress(done, total)
    await conn.copy_records_to_table(
        "relations",
        schema_name="mentorship",
        columns=[
            "id",
            "mentor_id",
            "mentee_id",
            "action_user_id",
            "creation_date",
            "accept_date",
            "start_date",
            "end_date",
            "state",
            "notes",
            "next_task_number",
        ],
        records=[
            (
                position + 1,
                ids[r["mentor"]],
                ids[r["mentee"]],
                ids[r["sender"]],
                r["created"],
                r["accepted"],
                r["accepted"],
                r["end"],
                r["state"],
                r["notes"],
                r["tasks"] + 1,
            )
            for position, r in enumerate(programme.relations)
        ],
    )
    done += len(programme.relations)
    progress(done, total)
    await conn.copy_records_to_table(
        "tasks",
        schema_name="mentorship",
        columns=["id", "relation_id", "number", "description", "is_done", "created_at", "completed_at"],
        records=[
            (
                position + 1,
                t["relation"] + 1,
                t["number"],
                t["description"],
                t["completed"] is not None,
                t["created"],
                t["completed"],
            )
            for position, t in enumerate(programme.tasks)
        ],
    )
    done += len(programme.tasks)
    progress(done, total)
    await conn.copy_records_to_table(
        "task_comments",
        schema_name="mentorship",
        columns=["task_id", "user_id", "creation_date", "comment"],
        records=[(task + 1, ids[author], when, text) for task, author, when, text in programme.comments],
    )
    done += len(programme.comments)
    progress(done, total)
    for table in ("relations", "tasks"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('mentorship.{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM mentorship.{table}), 0) + 1, false)"
        )
    await conn.execute(
        "ANALYZE mentorship.profiles, mentorship.relations, mentorship.relation_parties, "
        "mentorship.tasks, mentorship.task_comments"
    )
    return total
