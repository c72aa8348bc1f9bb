"""Scan results as values: what one probe of one endpoint found, serialisable to and from JSON.

A scan result is written by ``qsafecity scan -o results.json`` and read back by ``qsafecity cbom
--scan results.json``, so every model here is a frozen pydantic model with a stable JSON form.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from qsafecity.inventory.certificates import CertificateFacts

#: Version of the scan-results document; bumped when a field changes meaning.
RESULTS_FORMAT: Final = 1


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class EndpointStatus(StrEnum):
    """How far a scan got: only ``TLS`` means the endpoint answered TLS and was examined."""

    TLS = "tls"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    CLOSED = "closed"
    NOT_TLS = "not-tls"
    MALFORMED = "malformed"
    UNREACHABLE = "unreachable"


class GroupSupport(StrEnum):
    """The verdict of one key-exchange group probe."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    INCONCLUSIVE = "inconclusive"


class Finding(_Model):
    """One thing a scan found, with a stable ``code`` a program can match on."""

    code: str
    severity: Severity
    message: str


class ProtocolVersionResult(_Model):
    """One protocol version: whether a full handshake succeeded, and with which cipher suite."""

    version: str
    supported: bool
    cipher_suite: str | None = None
    error: str | None = None


class EndpointScan(_Model):
    """Everything a scan learned about one ``host:port``.

    ``groups`` maps the registry name of each probed key-exchange group to the verdict;
    ``preferred_group`` is the group the server picked when offered all of them (post-quantum
    first), i.e. what a modern client gets. ``certificates`` is the chain as the server sent it,
    leaf first.
    """

    target: str
    host: str
    port: Annotated[int, Field(ge=1, le=65535)]
    service_id: str | None = None
    scanned_at: dt.datetime
    status: EndpointStatus
    versions: tuple[ProtocolVersionResult, ...] = ()
    groups: dict[str, GroupSupport] = Field(default_factory=dict)
    preferred_group: str | None = None
    tls13_cipher_suites: tuple[str, ...] = ()
    certificates: tuple[CertificateFacts, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def supported_versions(self) -> tuple[str, ...]:
        return tuple(v.version for v in self.versions if v.supported)

    @property
    def accepted_groups(self) -> tuple[str, ...]:
        return tuple(
            name for name, verdict in self.groups.items() if verdict is GroupSupport.ACCEPTED
        )

    @property
    def negotiated_cipher_suite(self) -> str | None:
        """The suite of the handshake at the highest supported version."""
        for version in self.versions:
            if version.supported and version.cipher_suite:
                return version.cipher_suite
        return None


class ScanReport(_Model):
    """The document ``qsafecity scan -o`` writes: all endpoints of one run."""

    format: int = RESULTS_FORMAT
    tool: str = "qsafecity"
    scans: tuple[EndpointScan, ...]
