"""``InProcessChannel``: the KME-to-KME channel between KMEs in one process (the fake beside the
``PeerChannel`` seam; ``qsafecity.api.peer`` is the real one, over mutual TLS).

Every message goes through its JSON form, as it would on the wire, so a message that would not
survive serialisation fails here too. A peer can be switched off to test rerouting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from qsafecity.kms.directory import link_id
from qsafecity.kms.failures import LinkDown
from qsafecity.kms.messages import (
    Delivered,
    Hop,
    HopResult,
    ReserveBlocks,
    ReservedBlocks,
    StockedKeys,
    StockKeys,
)

if TYPE_CHECKING:
    from qsafecity.kms.kme import KME

_M = TypeVar("_M", bound=BaseModel)


def _over_the_wire(message: _M) -> _M:
    return type(message).model_validate_json(message.model_dump_json())


@dataclass
class InProcessNetwork:
    """The KMEs of one process, by site id, and which of them are switched off."""

    kmes: dict[str, KME] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)

    def channel_for(self, site_id: str) -> InProcessChannel:
        return InProcessChannel(self, site_id)


@dataclass
class InProcessChannel:
    network: InProcessNetwork
    site_id: str

    def _peer(self, peer_kme: str) -> KME:
        kme = self.network.kmes.get(peer_kme)
        if kme is None or peer_kme in self.network.down:
            raise LinkDown(link_id(self.site_id, peer_kme))
        return kme

    def reserve(self, peer_kme: str, request: ReserveBlocks) -> ReservedBlocks:
        answer = self._peer(peer_kme).handle_reserve(self.site_id, _over_the_wire(request))
        return _over_the_wire(answer)

    def hop(self, peer_kme: str, hop: Hop) -> HopResult:
        return _over_the_wire(self._peer(peer_kme).handle_hop(self.site_id, _over_the_wire(hop)))

    def delivered(self, peer_kme: str, notice: Delivered) -> None:
        self._peer(peer_kme).handle_delivered(self.site_id, _over_the_wire(notice))

    def stock(self, peer_kme: str, request: StockKeys) -> StockedKeys:
        answer = self._peer(peer_kme).handle_stock(self.site_id, _over_the_wire(request))
        return _over_the_wire(answer)
