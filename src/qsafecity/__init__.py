"""qsafecity: makes a smart city's information systems safe against quantum computers.

The package is layered (see ``docs/architecture.md``): a pure core (``city``, ``policy``,
``risk``, ``algorithms``) that does no I/O, services that compose it (``assessment``), and edges
(``reports``, ``cli``) that read files, print and render.
"""

from qsafecity.errors import QSafeCityError

__all__ = ["QSafeCityError", "__version__"]

__version__ = "0.1.0"
