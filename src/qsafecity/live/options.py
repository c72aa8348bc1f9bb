"""Options of the live city that the command line needs before anything heavy is imported.

``qsafecity.cli`` builds every command's options at start-up; keeping these few names here lets it
import the live city itself (MQTT, FastAPI, SQLAlchemy, the QKD engine) only when ``up`` runs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

#: Port of the dashboard and drill API of ``qsafecity up``.
DEFAULT_PORT: Final = 8765
#: Messages a flood drill sends by default.
FLOOD_MESSAGES: Final = 60


class QKDScope(StrEnum):
    """Which fibre links carry QKD in the live city."""

    PLAN = "plan"  # the links of the planner's least-cost plan (``qsafecity plan``)
    MANIFEST = "manifest"  # only the links the manifest marks ``qkd: true``
    DARK_FIBRE = "dark-fibre"  # those, plus every dark fibre the city owns (a what-if)
