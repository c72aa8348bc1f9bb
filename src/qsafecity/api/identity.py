"""Who is calling: the SAE or KME id from the caller's client certificate (mutual TLS), or, in
the clearly marked insecure development mode only, from a header.

The server (``api.server``) puts the verified client certificate into the ASGI scope as the ASGI
TLS extension does (``scope["extensions"]["tls"]["client_cert_chain"]``, PEM). Identities are
SAN URIs that the city's PKI writes (``kms.pki``): ``urn:qsafecity:sae:<SAE id>`` and
``urn:qsafecity:kme:<site id>``. The caller's id is never taken from the request itself.
"""

from __future__ import annotations

from typing import Final

from cryptography import x509
from starlette.requests import HTTPConnection

from qsafecity.errors import AccessDenied
from qsafecity.kms.pki import identities_in

SAE_HEADER: Final = "X-SAE-ID"
KME_HEADER: Final = "X-KME-ID"


def _certificate(connection: HTTPConnection) -> x509.Certificate | None:
    tls = connection.scope.get("extensions", {}).get("tls")
    if not tls:
        return None
    chain = tls.get("client_cert_chain") or []
    if not chain:
        return None
    try:
        return x509.load_pem_x509_certificate(chain[0].encode())
    except ValueError:
        return None


def caller_identity(connection: HTTPConnection, role: str, *, insecure_dev: bool) -> str:
    """The caller's ``role`` id ("sae" or "kme"), or ``AccessDenied``."""
    if insecure_dev:
        header = connection.headers.get(SAE_HEADER if role == "sae" else KME_HEADER)
        if not header:
            raise AccessDenied(
                f"insecure development mode: send the caller's id in {SAE_HEADER if role == 'sae' else KME_HEADER}"
            )
        return header.strip()
    certificate = _certificate(connection)
    if certificate is None:
        raise AccessDenied("a client certificate is required")
    ids = identities_in(certificate).get(role, [])
    if len(ids) != 1:
        raise AccessDenied(f"the client certificate does not name one {role.upper()}")
    return ids[0]
