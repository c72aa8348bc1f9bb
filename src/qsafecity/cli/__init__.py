"""The ``qsafecity`` command line (an edge: it parses arguments, calls services, prints).

Each capability registers its commands in its own module below; ``main`` maps the exception tree
to a one-line message on stderr and an exit code, so a user never sees a traceback for bad input:

* 0: the command ran (findings are results, not failures)
* 1: a runtime condition from ``QSafeCityError`` (or ``--fail-on`` matched)
* 2: bad input (``InputError``, usage errors)
* 3: a QKD protocol aborted for security (``SecurityAbort``)
* 70: an internal error (a bug): one line, the traceback only with QSAFECITY_DEBUG=1
* 130: interrupted
"""

from __future__ import annotations

import os
import sys
import traceback

import typer

from qsafecity.cli import assess as _assess
from qsafecity.cli import city as _city
from qsafecity.cli import crypto as _crypto
from qsafecity.cli import inventory as _inventory
from qsafecity.cli import kme as _kme
from qsafecity.cli import live as _live
from qsafecity.cli import pki as _pki
from qsafecity.cli import plan as _plan
from qsafecity.cli import qkd as _qkd
from qsafecity.cli._app import app, console_error
from qsafecity.errors import QSafeCityError

# Registration of command groups: one line per capability, kept in this order.
_city.register(app)
_assess.register(app)
_crypto.register(app)
_qkd.register(app)
_plan.register(app)
_inventory.register(app)
_kme.register(app)
_pki.register(app)
_live.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script; exits with the documented codes."""
    try:
        app(args=argv, standalone_mode=False, prog_name="qsafecity")
    except QSafeCityError as error:
        console_error(str(error))
        sys.exit(error.exit_code)
    except typer.Exit as done:
        sys.exit(getattr(done, "exit_code", 0))
    except (typer.Abort, KeyboardInterrupt):
        console_error("aborted")
        sys.exit(130)
    except typer.TyperException as error:
        # Usage errors (unknown option, bad choice, missing argument): Click's own message.
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            console_error(str(error))
        sys.exit(int(getattr(error, "exit_code", 2)))
    except BrokenPipeError:
        sys.exit(0)
    except Exception as error:  # a bug, not bad input: one line unless debugging
        if os.environ.get("QSAFECITY_DEBUG") == "1":
            traceback.print_exc()
        console_error(
            f"internal error ({type(error).__name__}: {error}); "
            "set QSAFECITY_DEBUG=1 to see the traceback and please report it"
        )
        sys.exit(70)
    sys.exit(0)


__all__ = ["app", "main", "typer"]
