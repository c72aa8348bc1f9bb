"""The randomness seam and the SP 800-90B health tests."""

from __future__ import annotations

import random

import pytest

from qsafecity.crypto import (
    HealthTestedRandom,
    KEMPrivateKey,
    OSRandom,
    Profile,
    RandomSource,
    SigningKey,
    adaptive_proportion_cutoff,
    repetition_count_cutoff,
)
from qsafecity.errors import CryptoError


class SeededSource:
    """A deterministic stand-in for a hardware source (seeded, so failures reproduce)."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def random_bytes(self, length: int) -> bytes:
        return self._random.randbytes(length)


class StuckSource:
    """A broken device that returns one byte value forever."""

    def random_bytes(self, length: int) -> bytes:
        return b"\x42" * length


class BiasedSource:
    """A device whose every other byte is 0x00: no long runs, but 0x00 has probability 1/2.

    Its min-entropy is 1 bit per byte, not the 8 it would claim; only the adaptive proportion
    test can see that (runs never exceed 1, so the repetition count test passes).
    """

    def __init__(self) -> None:
        self._random = random.Random(7)

    def random_bytes(self, length: int) -> bytes:
        return bytes(
            0 if index % 2 == 0 else self._random.randrange(1, 256) for index in range(length)
        )


class ShortSource:
    def random_bytes(self, length: int) -> bytes:
        return b"\x00" * (length // 2)


def test_sp800_90b_cutoffs_reproduce_the_published_values() -> None:
    # SP 800-90B §4.4.1: alpha = 2^-20, H = 1 gives C = 21 (the worked example).
    assert repetition_count_cutoff(1.0) == 21
    assert repetition_count_cutoff(8.0) == 4  # 1 + ceil(20 / 8)
    # SP 800-90B §4.4.2, Table 2 (W = 512, non-binary samples, alpha = 2^-20): exact integers.
    table = {0.5: 410, 1.0: 311, 2.0: 177, 4.0: 62, 8.0: 13}
    assert {h: adaptive_proportion_cutoff(h) for h in table} == table


def test_os_random_is_a_random_source() -> None:
    source = OSRandom()
    assert isinstance(source, RandomSource)
    assert len(source.random_bytes(33)) == 33
    assert source.random_bytes(0) == b""
    with pytest.raises(ValueError, match="length"):
        source.random_bytes(-1)


def test_healthy_source_passes_start_up_and_continuous_tests() -> None:
    guarded = HealthTestedRandom(SeededSource(2024))
    total = sum(len(guarded.random_bytes(4096)) for _ in range(64))
    assert total == 64 * 4096
    assert not guarded.failed
    # The start-up test consumed (and discarded) 1024 samples before the first output.
    assert HealthTestedRandom(SeededSource(1)).random_bytes(8) != SeededSource(1).random_bytes(8)


def test_stuck_source_fails_at_start_up_and_stays_failed() -> None:
    guarded = HealthTestedRandom(StuckSource())
    with pytest.raises(CryptoError, match="repetition count"):
        guarded.random_bytes(16)
    assert guarded.failed
    with pytest.raises(CryptoError, match="failed its health test earlier"):
        guarded.random_bytes(16)


def test_biased_source_fails_the_adaptive_proportion_test() -> None:
    # Claimed full entropy (H = 8): the APT cutoff is 13 in 512; 0x00 appears 256 times.
    with pytest.raises(CryptoError, match="adaptive proportion"):
        HealthTestedRandom(BiasedSource()).random_bytes(4096)
    # Assessed honestly at H = 1 bit per byte, the same device passes.
    assert len(HealthTestedRandom(BiasedSource(), min_entropy_per_sample=1.0).random_bytes(4096))


def test_short_reads_are_a_failure() -> None:
    with pytest.raises(CryptoError, match="returned"):
        HealthTestedRandom(ShortSource()).random_bytes(10)


@pytest.mark.parametrize("entropy", [0.0, -1.0, 8.5])
def test_invalid_entropy_claims(entropy: float) -> None:
    with pytest.raises(ValueError, match="min-entropy"):
        HealthTestedRandom(OSRandom(), min_entropy_per_sample=entropy)


def test_keys_draw_their_secrets_from_the_seam() -> None:
    first = KEMPrivateKey.generate(Profile.PQC, rng=SeededSource(5))
    second = KEMPrivateKey.generate(Profile.PQC, rng=SeededSource(5))
    assert first.fingerprint == second.fingerprint
    signer = SigningKey.generate(Profile.CRITICAL, rng=HealthTestedRandom(SeededSource(9)))
    assert signer.algorithm == "ML-DSA-87"
    with pytest.raises(CryptoError):
        KEMPrivateKey.generate(Profile.CRITICAL, rng=HealthTestedRandom(StuckSource()))
