"""The dashboard of the live city: a FastAPI app served by the ``qsafecity up`` process."""

from qsafecity.live.web.app import create_app

__all__ = ["create_app"]
