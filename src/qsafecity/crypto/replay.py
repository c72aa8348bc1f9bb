"""A replay window over sequence numbers, kept by the receiver of a message stream.

The window follows the anti-replay algorithm of IPsec (RFC 4303 §3.4.3): it remembers the highest
sequence number accepted and which of the ``width`` numbers below it were seen. A number is
rejected when it was seen before or has fallen below the window. ``width=0`` (the default) demands
strictly increasing numbers: any replayed *or reordered* message is rejected. Give a width (e.g.
64) where the transport may reorder messages.

Checking and recording are separate steps, so that a receiver records a number only after the
message carrying it was authenticated: a forger cannot burn sequence numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from qsafecity.errors import CryptoError

MAX_SEQUENCE: Final = 2**64 - 1


@dataclass(slots=True)
class ReplayWindow:
    """Sequence numbers already accepted from one sender on one stream."""

    width: int = 0
    _highest: int = field(default=-1, repr=False)
    _seen: int = field(default=0, repr=False)  # bit i set = (highest - 1 - i) was accepted
    _mask: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.width <= 4096:
            raise ValueError(f"replay window width must be in [0, 4096], got {self.width}")
        self._mask = (1 << self.width) - 1

    @property
    def highest(self) -> int | None:
        """The highest sequence number accepted so far, or ``None``."""
        return None if self._highest < 0 else self._highest

    def is_fresh(self, sequence: int) -> bool:
        """True when ``sequence`` would be accepted now (nothing is recorded)."""
        if not 0 <= sequence <= MAX_SEQUENCE:
            return False
        if sequence > self._highest:
            return True
        offset = self._highest - sequence
        if offset == 0 or offset > self.width:
            return False
        return not (self._seen >> (offset - 1)) & 1

    def check(self, sequence: int) -> None:
        """Raise :class:`CryptoError` when ``sequence`` is a replay or too old."""
        if not self.is_fresh(sequence):
            raise CryptoError("message rejected")

    def record(self, sequence: int) -> None:
        """Record ``sequence`` as accepted; raise :class:`CryptoError` if it was not fresh."""
        if sequence == self._highest + 1 and sequence <= MAX_SEQUENCE:
            # The common case, the next number in order, kept cheap.
            if self.width and sequence:
                self._seen = ((self._seen << 1) | 1) & self._mask
            self._highest = sequence
            return
        self.check(sequence)
        if sequence > self._highest:
            shift = sequence - self._highest
            if self._highest >= 0 and self.width:
                # The old highest becomes bit (shift - 1); older bits move up with it.
                self._seen = (((self._seen << 1) | 1) << (shift - 1)) & self._mask
            self._highest = sequence
        else:
            self._seen |= 1 << (self._highest - sequence - 1)
