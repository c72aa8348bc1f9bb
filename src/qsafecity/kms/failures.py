"""Failures of the KME-to-KME exchange, shared by the KME and the channels that carry it."""

from __future__ import annotations

from qsafecity.errors import KeyManagementError


class LinkDown(KeyManagementError):
    """The KME at the other end of a link did not answer."""

    def __init__(self, link_id: str, reason: str = "the peer KME did not answer") -> None:
        self.link_id = link_id
        super().__init__(f"link {link_id} is down: {reason}")


class PoolExhausted(KeyManagementError):
    """A link's pool holds fewer blocks than a request needs."""

    def __init__(self, link_id: str, needed: int, available: int | None = None) -> None:
        self.link_id = link_id
        shown = "" if available is None else f", {available} available"
        super().__init__(f"not enough key on link {link_id}: {needed} blocks needed{shown}")


class PeerRejected(KeyManagementError):
    """A peer KME refused a message as malformed or not allowed."""
