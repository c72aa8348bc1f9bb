"""Messages of the KME-to-KME channel (JSON over mutual TLS between KMEs; see ``docs/kms.md``).

They carry key ids, block indices and one-time-pad ciphertexts, never a key in clear.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SiteId = Annotated[str, Field(min_length=1, max_length=64)]
SAEId = Annotated[str, Field(min_length=1, max_length=200)]
KeyId = Annotated[str, Field(min_length=1, max_length=64)]
#: The most blocks one message may name (a full request of the largest keys, with slack).
MAX_BLOCKS_PER_MESSAGE = 4096


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReserveBlocks(_Message):
    """Asks a link's leader to allocate blocks and keep them under ``hold_id`` for a hop."""

    link_id: Annotated[str, Field(min_length=3, max_length=200)]
    hold_id: KeyId
    count: Annotated[int, Field(ge=1, le=MAX_BLOCKS_PER_MESSAGE)]


class ReservedBlocks(_Message):
    indices: list[int]


class BlockRef(_Message):
    """Which blocks of the link the hop uses: named by index (sender is the leader), or a hold."""

    indices: Annotated[list[int], Field(max_length=MAX_BLOCKS_PER_MESSAGE)] | None = None
    hold_id: KeyId | None = None


class HopKey(_Message):
    key_id: KeyId
    #: One-time-pad ciphertext (hex) of the key; absent when the hop's blocks are the key itself.
    ciphertext_hex: Annotated[str, Field(max_length=512)] | None = None


class Hop(_Message):
    """One hop of a key's way from the master's KME to a slave's KME."""

    route: Annotated[list[SiteId], Field(min_length=2, max_length=64)]
    #: Index in ``route`` of the KME receiving this hop (1 for the first hop).
    position: Annotated[int, Field(ge=1)]
    mode: Literal["key", "pad"]
    blocks: BlockRef
    keys: Annotated[list[HopKey], Field(min_length=1, max_length=1024)]
    size_bits: Annotated[int, Field(ge=8, le=1 << 16)]
    master_sae: SAEId
    slave_saes: Annotated[list[SAEId], Field(min_length=1, max_length=64)]
    #: The slaves served by the last KME of the route.
    route_slaves: Annotated[list[SAEId], Field(min_length=1, max_length=64)]
    created_s: float


class StockKeys(_Message):
    """The master's KME agrees keys in advance with the slave's KME over their direct link: one
    key of ``size_bits`` (one block) per id, for one master/slave pair. ``blocks`` names the blocks
    when the sender leads the link; without it, the receiver (the leader) takes them."""

    link_id: Annotated[str, Field(min_length=3, max_length=200)]
    master_sae: SAEId
    slave_sae: SAEId
    key_ids: Annotated[list[KeyId], Field(min_length=1, max_length=MAX_BLOCKS_PER_MESSAGE)]
    size_bits: Annotated[int, Field(ge=8, le=256)]
    blocks: BlockRef | None = None


class StockedKeys(_Message):
    """The block indices that make the keys, in the order of the request's ids."""

    indices: list[int]


class HopResult(_Message):
    """Blocks left in each link the hop and the hops after it used (for routing and status)."""

    link_levels: dict[str, int]


class Delivered(_Message):
    """A slave's KME tells the master's KME that these slaves fetched these keys."""

    key_ids: Annotated[list[KeyId], Field(min_length=1, max_length=1024)]
    slave_sae: SAEId


class PeerError(_Message):
    """The body of a KME-to-KME error answer."""

    kind: Literal["link-down", "exhausted", "missing-blocks", "rejected"]
    message: str
    link_id: str | None = None
    indices: list[int] | None = None
