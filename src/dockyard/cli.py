"""`dockyard`: serve the app and manage its database (through db/scripts/*.sh).

Each service adds its own command groups through its `Service.commands` (`dockyard user`,
`dockyard backups`, …); this module names none of them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from dockyard.accounts.tokens import embedded_secret
from dockyard.core.config import Settings, get_settings
from dockyard.core.logging import configure_logging
from dockyard.core.scripts import Target, console, database_target, run_script
from dockyard.core.services import KNOWN_SERVICES, UnknownServiceError, load_services, resolve_names

app = typer.Typer(help="Dockyard: one backend, five data services.", no_args_is_help=True)
db_app = typer.Typer(help="Database lifecycle (runs db/scripts/*.sh).", no_args_is_help=True)
app.add_typer(db_app, name="db")
for _service in load_services(["all"]):
    for _name, _commands in _service.commands.items():
        app.add_typer(_commands, name=_name)

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def _settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


def _prepare_database(target: Target, settings: Settings, *, seed: bool) -> None:
    """Create and migrate the database, then seed demo data (idempotent)."""
    _exit(run_script("init_db.sh", [], target=target, settings=settings, label="init + migrate"))
    if seed:
        _exit(
            run_script("seed_db.sh", ["--size", "demo"], target=target, settings=settings, label="demo data")
        )


def _multiprocess_metrics_dir(settings: Settings) -> None:
    """Give the workers a fresh shared folder so /metrics sums them all."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = (settings.data_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HOST", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(envvar="WEB_CONCURRENCY", min=1, help="Worker processes.")] = 1,
    service: Annotated[
        list[str] | None, typer.Option("--service", help="Serve only this service (repeatable).")
    ] = None,
    migrate: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate", help="Create and migrate the database first [default: embedded only]."
        ),
    ] = None,
) -> None:
    """Serve Dockyard; with no DATABASE_URL, on an embedded PostgreSQL under DATA_DIR."""
    if service:
        try:
            resolve_names(service, list(KNOWN_SERVICES))
        except UnknownServiceError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from exc
        os.environ["SERVICES"] = ",".join(service)
    # The workers' settings read these: PUBLIC_URL follows the address served unless it is set.
    os.environ["HOST"], os.environ["PORT"] = host, str(port)
    settings = _settings()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    with database_target(settings) as target:
        if migrate or (migrate is None and target.embedded):
            _prepare_database(target, settings, seed=target.embedded and settings.seed_demo)
        os.environ["DATABASE_URL"] = target.url
        if target.embedded and not settings.jwt_secret:
            # Workers see DATABASE_URL, so hand them the embedded default's signing secret too.
            os.environ["JWT_SECRET"] = embedded_secret(settings.data_dir)
        if workers > 1:
            _multiprocess_metrics_dir(settings)
        get_settings.cache_clear()
        console.print(f"[green]Dockyard[/] on http://{host}:{port}  (docs: /docs, health: /readyz)")
        uvicorn.run(
            "dockyard.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            # X-Forwarded-* are honoured by the app itself, from TRUSTED_PROXIES only.
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=10,
            timeout_worker_healthcheck=settings.worker_healthcheck_timeout_s,
        )


def _db_command(script: str, ctx: typer.Context, label: str, *leading: str) -> None:
    settings = _settings()
    with database_target(settings) as target:
        _exit(run_script(script, [*leading, *ctx.args], target=target, settings=settings, label=label))


@db_app.command("init", context_settings=PASS_THROUGH)
def db_init(ctx: typer.Context) -> None:
    """Create the role and database when permitted, then apply migrations (init_db.sh)."""
    _db_command("init_db.sh", ctx, "init")


@db_app.command("migrate", context_settings=PASS_THROUGH)
def db_migrate(ctx: typer.Context) -> None:
    """Apply migrations; extra arguments go to migrate_db.sh (--dry-run, --to V, down, baseline V)."""
    _db_command("migrate_db.sh", ctx, "migrate")


@db_app.command("status", context_settings=PASS_THROUGH)
def db_status(ctx: typer.Context) -> None:
    """Show applied and pending migrations (migrate_db.sh status)."""
    _db_command("migrate_db.sh", ctx, "status", "status")


@db_app.command("seed", context_settings=PASS_THROUGH)
def db_seed(ctx: typer.Context) -> None:
    """Load demo data (seed_db.sh --size demo|bench)."""
    _db_command("seed_db.sh", ctx, "seed")


@db_app.command("backup", context_settings=PASS_THROUGH)
def db_backup(ctx: typer.Context) -> None:
    """Dump the database with pg_dump -Fc plus a manifest (backup_db.sh)."""
    _db_command("backup_db.sh", ctx, "backup")


@db_app.command("restore", context_settings=PASS_THROUGH)
def db_restore(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .dump file.")],
) -> None:
    """Restore a dump and verify it (restore_db.sh FILE [TARGET_DB])."""
    _db_command("restore_db.sh", ctx, "restore", str(file))


@db_app.command("check", context_settings=PASS_THROUGH)
def db_check(ctx: typer.Context) -> None:
    """Check connectivity, migrations and the live schema against db/schema.sql (test_db.sh)."""
    _db_command("test_db.sh", ctx, "check")


@db_app.command("widen-ids", context_settings=PASS_THROUGH)
def db_widen_ids(ctx: typer.Context) -> None:
    """Make adopted integer ids bigint while the database keeps serving (widen_ids.sh; --dry-run)."""
    _db_command("widen_ids.sh", ctx, "widen ids")


@db_app.command("schema", context_settings=PASS_THROUGH)
def db_schema(ctx: typer.Context) -> None:
    """Regenerate db/schema.sql from a migrated database (test_db.sh --update)."""
    _db_command("test_db.sh", ctx, "schema", "--update")


def main() -> None:
    """Console-script entry point."""
    app()
