"""The Typer application shared by every command module, and the console helpers."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="qsafecity",
    help=(
        "Make a smart city's information systems safe against quantum computers: classify "
        "services, measure quantum risk, check contracts and cryptography, plan QKD and PQC."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

stdout = Console(highlight=False, soft_wrap=False, emoji=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def console_error(message: str) -> None:
    """Print an error as plain text on stderr (first line prefixed, the rest indented as given)."""
    stderr.print(f"qsafecity: error: {message}", markup=False, emoji=False)
