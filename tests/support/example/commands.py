"""`dockyard example …`: the example service's commands."""

from __future__ import annotations

from typing import Annotated

import typer

from tests.support.example.settings import ExampleSettings

example_app = typer.Typer(help="The example service.", no_args_is_help=True)


@example_app.callback()
def example() -> None:
    """The example service (a group, so commands keep their names however many there are)."""


@example_app.command()
def greet(name: Annotated[str, typer.Argument(help="Who to greet.")]) -> None:
    """Print the configured greeting (EXAMPLE_GREETING) for NAME."""
    typer.echo(f"{ExampleSettings().greeting}, {name}")
