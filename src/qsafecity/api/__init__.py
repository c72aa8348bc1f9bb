"""HTTP edge of qsafecity: the KME's ETSI GS QKD 014 API, its KME-to-KME channel, and a client.

``create_app(kme)`` builds the FastAPI app; ``api.server`` runs it over mutual TLS; ``api.client``
is an ETSI 014 client for any conformant KME. Errors map to HTTP in one table (``api.errors``).
"""

from qsafecity.api.app import create_app

__all__ = ["create_app"]
