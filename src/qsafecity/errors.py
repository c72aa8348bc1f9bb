"""The single exception tree of qsafecity.

Every runtime condition the project reports is one of these; wrong types and shapes passed by a
programmer raise the built-in ``TypeError``/``ValueError`` instead. Third-party errors are wrapped at
the boundary where they occur, so callers only ever catch from this tree::

    QSafeCityError                      anything qsafecity reports
    ├── InputError                      bad input from a user: exit code 2 in the CLI, 400 in an API
    │   ├── ManifestError               a city manifest that does not validate (carries every problem)
    │   ├── ForecastError               a CRQC forecast that is unknown or malformed
    │   ├── KeyFormatError              a key file that is unreadable, or of the wrong type or profile
    │   └── KeyRequestError             a key request that breaks the KME's rules (HTTP 400)
    ├── PolicyViolation                 an action that the city's protection policy forbids
    ├── CryptoError                     a cryptographic operation failed (deliberately opaque)
    ├── QKDError                        the QKD link engine cannot go on
    │   └── SecurityAbort               a QKD protocol aborted because the key would not be secret
    ├── KeyManagementError              key delivery failed (pool empty, no route): HTTP 503
    │   └── AccessDenied                the caller may not have this key or talk to this SAE: HTTP 401
    ├── PlanningError                   the planner cannot produce a plan
    └── InventoryError                  discovery or CBOM import failed

The CLI maps the tree to a one-line message and an exit code (``qsafecity.cli``); the API maps it
to HTTP statuses in one table.
"""

from __future__ import annotations

from dataclasses import dataclass


class QSafeCityError(Exception):
    """Base of everything qsafecity raises on purpose."""

    #: Exit code used by the CLI when this error ends a command.
    exit_code: int = 1


class InputError(QSafeCityError):
    """The user gave input that cannot be used; nothing was changed."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input document, located by its field path."""

    path: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        shown = f" (got {self.value})" if self.value is not None else ""
        return f"{self.path}: {self.message}{shown}"


class ManifestError(InputError):
    """A city manifest that does not validate. ``problems`` holds every problem found, in order."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"{source}: {count} {noun} in the city manifest:\n{lines}")


class ForecastError(InputError):
    """A CRQC forecast that is unknown, unreadable or not a cumulative probability table."""


class KeyRequestError(InputError):
    """A key request that breaks the KME's rules: size, count, unknown SAE or key id, extensions."""


class PolicyViolation(QSafeCityError):
    """An action the city's protection policy forbids (e.g. a weaker profile than the tier's)."""


class CryptoError(QSafeCityError):
    """A cryptographic operation failed. Messages are deliberately opaque to avoid oracles."""


class QKDError(QSafeCityError):
    """The QKD link engine cannot go on with the given link or parameters."""


class SecurityAbort(QKDError):
    """A QKD protocol run aborted because the key could not be proven secret."""

    exit_code = 3


class KeyManagementError(QSafeCityError):
    """Key delivery failed: a pool is empty, no route exists or a key id is unknown."""


class AccessDenied(KeyManagementError):
    """The caller is not authorised: not an SAE of this KME, not a party to the key or pair."""


class PlanningError(QSafeCityError):
    """The planner cannot produce a plan for the given city and inputs."""


class InventoryError(QSafeCityError):
    """Cryptographic discovery or CBOM import failed."""


class KeyFormatError(InputError):
    """A key or key file that cannot be used: unreadable, wrong password, wrong type or profile."""
