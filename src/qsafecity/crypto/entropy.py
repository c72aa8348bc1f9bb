"""One seam for randomness: the OS CSPRNG by default, any device (a QRNG) behind health tests.

Everything in ``qsafecity.crypto`` that draws key seeds, session secrets or other secret random
bytes takes a :class:`RandomSource`. The default, :class:`OSRandom`, reads the operating system's
CSPRNG. A physical source, e.g. a quantum random number generator, is wrapped in
:class:`HealthTestedRandom`, which runs the two continuous health tests of NIST SP 800-90B §4.4
(repetition count and adaptive proportion) over every byte it delivers, and the start-up test of
§4.3 (the same tests over the first 1024 samples, which are then discarded) before it delivers any.
A failing source raises :class:`~qsafecity.errors.CryptoError` and stays failed: SP 800-90B
requires an entropy source to stop after a health-test failure until it is reset.

Note: pyca/cryptography draws HPKE encapsulation randomness and ML-DSA signing randomness from
OpenSSL's own DRBG; the library offers no way to pass them in. The seam covers key generation and
session secrets, which are the long-lived secrets.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Final, Protocol, runtime_checkable

from qsafecity.errors import CryptoError

#: SP 800-90B §4.4: the recommended false-positive probability of a health test, alpha = 2^-20.
DEFAULT_ALPHA: Final = 2.0**-20
#: SP 800-90B §4.4.2: the adaptive proportion window for non-binary (here 8-bit) samples.
APT_WINDOW_NON_BINARY: Final = 512
#: SP 800-90B §4.3 item 9: start-up tests run over at least 1024 consecutive samples.
STARTUP_SAMPLES: Final = 1024


@runtime_checkable
class RandomSource(Protocol):
    """Something that returns ``length`` bytes of (claimed) full-entropy randomness."""

    def random_bytes(self, length: int) -> bytes:
        """Return exactly ``length`` random bytes, or raise :class:`CryptoError`."""
        ...


class OSRandom:
    """The operating system's CSPRNG (``os.urandom``, i.e. ``getrandom(2)`` on Linux)."""

    def random_bytes(self, length: int) -> bytes:
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        return os.urandom(length)

    def __repr__(self) -> str:
        return "OSRandom()"


def repetition_count_cutoff(min_entropy_per_sample: float, alpha: float = DEFAULT_ALPHA) -> int:
    """Cutoff C of the repetition count test, SP 800-90B §4.4.1: ``C = 1 + ceil(-log2(alpha)/H)``.

    A run of ``C`` identical consecutive samples fails the test. With alpha = 2^-20 and H = 1 bit
    per sample, C = 21 (the example in §4.4.1).
    """
    _check_entropy(min_entropy_per_sample, alpha)
    return 1 + math.ceil(-math.log2(alpha) / min_entropy_per_sample)


def adaptive_proportion_cutoff(
    min_entropy_per_sample: float,
    window: int = APT_WINDOW_NON_BINARY,
    alpha: float = DEFAULT_ALPHA,
) -> int:
    """Cutoff C of the adaptive proportion test, SP 800-90B §4.4.2.

    ``C = 1 + CRITBINOM(W, 2^-H, 1 - alpha)``: the smallest count c such that a sample with
    probability 2^-H appears at most c times among W samples with probability >= 1 - alpha, plus
    one. The test fails when the first sample of a window recurs ``C`` or more times in it.
    (Table 2 of SP 800-90B lists 410, 311, 177, 62 and 13 for W = 512 and H = 0.5, 1, 2, 4, 8.)
    """
    _check_entropy(min_entropy_per_sample, alpha)
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window}")
    probability = 2.0**-min_entropy_per_sample
    cumulative = 0.0
    for count in range(window + 1):
        cumulative += (
            math.comb(window, count) * probability**count * (1.0 - probability) ** (window - count)
        )
        if cumulative >= 1.0 - alpha:
            return 1 + count
    return 1 + window


def _check_entropy(min_entropy_per_sample: float, alpha: float) -> None:
    if not 0.0 < min_entropy_per_sample <= 8.0:
        raise ValueError(
            f"min-entropy per 8-bit sample must be in (0, 8] bits, got {min_entropy_per_sample}"
        )
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


@dataclass(slots=True)
class HealthTestedRandom:
    """A noise source (e.g. a QRNG device) guarded by the SP 800-90B health tests.

    ``source`` delivers raw 8-bit samples; ``min_entropy_per_sample`` is its assessed min-entropy
    H in bits per byte (8 for a source claiming full entropy). The wrapper does not condition the
    output: a source with H < 8 must be conditioned (e.g. hashed) by its caller or driver.

    >>> HealthTestedRandom(OSRandom()).random_bytes(4).__len__()
    4
    """

    source: RandomSource
    min_entropy_per_sample: float = 8.0
    alpha: float = DEFAULT_ALPHA
    window: int = APT_WINDOW_NON_BINARY
    _rct_cutoff: int = field(init=False, repr=False)
    _apt_cutoff: int = field(init=False, repr=False)
    _last: int = field(init=False, default=-1, repr=False)
    _run: int = field(init=False, default=0, repr=False)
    _apt_reference: int = field(init=False, default=-1, repr=False)
    _apt_seen: int = field(init=False, default=0, repr=False)
    _apt_count: int = field(init=False, default=0, repr=False)
    _started: bool = field(init=False, default=False, repr=False)
    _failed: str | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self._rct_cutoff = repetition_count_cutoff(self.min_entropy_per_sample, self.alpha)
        self._apt_cutoff = adaptive_proportion_cutoff(
            self.min_entropy_per_sample, self.window, self.alpha
        )

    @property
    def failed(self) -> bool:
        """True once a health test has failed; the source then delivers nothing more."""
        return self._failed is not None

    def random_bytes(self, length: int) -> bytes:
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        if self._failed is not None:
            raise CryptoError(f"entropy source failed its health test earlier: {self._failed}")
        if not self._started:
            # SP 800-90B §4.3: start-up tests over 1024 samples, which are not used as output.
            self._examine(self._draw(STARTUP_SAMPLES))
            self._started = True
        data = self._draw(length)
        self._examine(data)
        return data

    def _draw(self, length: int) -> bytes:
        data = self.source.random_bytes(length)
        if len(data) != length:
            self._fail(f"source returned {len(data)} bytes instead of {length}")
        return data

    def _examine(self, samples: bytes) -> None:
        for sample in samples:
            # Repetition count test (§4.4.1): too long a run of one value.
            if sample == self._last:
                self._run += 1
                if self._run >= self._rct_cutoff:
                    self._fail(f"repetition count test: {self._run} repeats of {sample:#04x}")
            else:
                self._last = sample
                self._run = 1
            # Adaptive proportion test (§4.4.2): one value too frequent in a window.
            if self._apt_seen == 0:
                self._apt_reference = sample
                self._apt_count = 1
            elif sample == self._apt_reference:
                self._apt_count += 1
                if self._apt_count >= self._apt_cutoff:
                    self._fail(
                        f"adaptive proportion test: {sample:#04x} appeared {self._apt_count} "
                        f"times in a window of {self.window}"
                    )
            self._apt_seen += 1
            if self._apt_seen == self.window:
                self._apt_seen = 0

    def _fail(self, reason: str) -> None:
        self._failed = reason
        raise CryptoError(f"entropy source failed its health test: {reason}")
