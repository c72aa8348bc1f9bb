"""The ``qsafecity`` command line (an edge: it parses arguments, calls services, prints).

Each capability registers its commands in its own module below; ``main`` maps the exception tree
to a one-line message on stderr and an exit code, so a user never sees a traceback for bad input:

* 0: the command ran (findings are results, not failures)
* 1: a runtime condition from ``QSafeCityError`` (or ``--fail-on`` matched)
* 2: bad input (``InputError``, usage errors)
* 3: a QKD protocol aborted for security (``SecurityAbort``)
"""

from __future__ import annotations

import sys

import click
import typer

from qsafecity.cli import city as _city
from qsafecity.cli import qkd as _qkd
from qsafecity.cli._app import app, console_error
from qsafecity.errors import QSafeCityError

# Registration of command groups: one line per capability, kept in this order.
_city.register(app)
_qkd.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; exits with the documented codes."""
    try:
        app(args=argv, standalone_mode=False, prog_name="qsafecity")
    except QSafeCityError as error:
        console_error(str(error))
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        console_error("aborted")
        sys.exit(130)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    sys.exit(0)


__all__ = ["app", "main", "typer"]
