"""Cascade: equal keys or an error, honest leak, and the efficiencies of Demystifying."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsafecity.errors import InputError, QKDError
from qsafecity.qkd import cascade
from qsafecity.qkd.cascade import CascadeVariant, block_sizes, reconcile, verify


def noisy_pair(size: int, qber: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    alice = rng.integers(0, 2, size, dtype=np.uint8)
    errors = np.zeros(size, dtype=np.uint8)
    # Exactly round(qber * size) errors, so that the efficiency is measured at the stated QBER.
    errors[rng.choice(size, round(qber * size), replace=False)] = 1
    return alice, alice ^ errors


# f_EC at n = 1e5 with exact error counts. Demystifying (Fig. 6; REFERENCE.md §6) gives 1.13-1.15
# for the original at 1-2 % and 1.06-1.07 for the BICONF-modified version; the goals are
# <= 1.17 and <= 1.07. One frame of 1e5 bits has a sampling spread of f of about 0.01 (the
# leak's standard deviation over frames, measured over 50 seeds, is 0.6-0.9 % of its mean), so the
# goals are asserted directly with the seed fixed.
@pytest.mark.parametrize("qber", [0.01, 0.02, 0.03])
def test_efficiency_goals_at_1e5_bits(qber: float) -> None:
    alice, bob = noisy_pair(100_000, qber, seed=7)
    for variant, goal in ((CascadeVariant.ORIGINAL, 1.17), (CascadeVariant.BICONF, 1.07)):
        result = reconcile(alice, bob, qber, np.random.default_rng(11), variant)
        np.testing.assert_array_equal(result.corrected_key, alice)
        assert result.errors_corrected == round(qber * 100_000)
        assert 1.0 < result.efficiency(qber) <= goal


def test_block_sizes_follow_demystifying() -> None:
    assert block_sizes(CascadeVariant.ORIGINAL, 0.02, 10**6) == [37, 74, 148, 296]
    assert block_sizes(CascadeVariant.BICONF, 0.02, 10**6) == [46, 138]
    assert block_sizes(CascadeVariant.ORIGINAL, 0.02, 50) == [37, 50, 50, 50]


def test_leak_counts_every_parity() -> None:
    # With no errors, no BINARY runs: the leak is exactly the block parities, minus the one
    # inferred parity in each pass after the first.
    alice, _ = noisy_pair(10_000, 0.0, seed=1)
    result = reconcile(alice, alice.copy(), 0.02, np.random.default_rng(2), "original")
    blocks = [-(-10_000 // k) for k in block_sizes(CascadeVariant.ORIGINAL, 0.02, 10_000)]
    assert result.leaked_bits == blocks[0] + sum(b - 1 for b in blocks[1:])
    assert result.errors_corrected == 0


def test_reconcile_is_reproducible_from_the_seed() -> None:
    alice, bob = noisy_pair(20_000, 0.02, seed=3)
    first = reconcile(alice, bob, 0.02, np.random.default_rng(5))
    second = reconcile(alice, bob, 0.02, np.random.default_rng(5))
    assert first.leaked_bits == second.leaked_bits
    np.testing.assert_array_equal(first.corrected_key, second.corrected_key)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(1, 3000),
    qber=st.floats(0.0, 0.12),
    estimate=st.floats(0.005, 0.2),
    seed=st.integers(0, 2**32 - 1),
    variant=st.sampled_from(list(CascadeVariant)),
)
def test_equal_keys_or_verification_raises(
    size: int, qber: float, estimate: float, seed: int, variant: CascadeVariant
) -> None:
    rng = np.random.default_rng(seed)
    alice = rng.integers(0, 2, size, dtype=np.uint8)
    bob = alice ^ (rng.random(size) < qber).astype(np.uint8)
    result = reconcile(alice, bob, estimate, rng, variant)
    assert result.leaked_bits >= 1
    if np.array_equal(result.corrected_key, alice):
        assert verify(alice, result.corrected_key, rng) == 64
    else:
        with pytest.raises(QKDError, match="verification failed"):
            verify(alice, result.corrected_key, rng)


def test_bad_inputs_are_input_errors() -> None:
    bits = np.zeros(10, dtype=np.uint8)
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="same length"):
        reconcile(bits, bits[:5], 0.02, rng)
    with pytest.raises(InputError, match=r"\(0, 0.5\)"):
        reconcile(bits, bits, 0.6, rng)
    with pytest.raises(InputError, match="bits"):
        reconcile(bits + 2, bits, 0.02, rng)
    with pytest.raises(InputError, match="empty"):
        reconcile(bits[:0], bits[:0], 0.02, rng)


@pytest.mark.slow
def test_no_residual_errors_in_10000_frames_at_2_percent() -> None:
    # The check: 10,000 frames of 10^4 bits at 2 % QBER, BICONF-modified Cascade. With 20
    # quiet BICONF passes the residual probability per frame is <= 2^-20, so the expected number of
    # failures in 10^4 frames is < 0.01.
    rng = np.random.default_rng(2026)
    failures = 0
    for _ in range(10_000):
        alice = rng.integers(0, 2, 10_000, dtype=np.uint8)
        bob = alice ^ (rng.random(10_000) < 0.02).astype(np.uint8)
        result = reconcile(alice, bob, 0.02, rng, CascadeVariant.BICONF)
        failures += int(not np.array_equal(result.corrected_key, alice))
    assert failures == 0


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 63, 64, 65, 1000, 4096, 30_011])
def test_shuffles_are_bijections_with_their_inverse(size: int) -> None:
    keys = np.zeros(2 + cascade._FEISTEL_ROUNDS, dtype=np.uint64)
    cascade._shuffle_pass(
        np.zeros(size, np.uint8), np.zeros(size, np.uint8), keys, 7, np.uint64(size), True
    )
    positions = np.array([cascade._permute(keys, size, i) for i in range(size)])
    assert sorted(positions.tolist()) == list(range(size))
    assert [cascade._unpermute(keys, size, int(p)) for p in positions] == list(range(size))


def test_shuffles_separate_neighbours_like_a_random_permutation() -> None:
    # Cascade needs errors left together in a block of pass 1 spread over pass 2's blocks. Under a
    # uniformly random permutation a pair of indices shares a block of k with probability about
    # (k - 1) / (n - 1); over the n - 1 neighbouring pairs the count is close to binomial, so it
    # is checked to 5 standard deviations, and also for pairs 37 apart.
    size, block = 100_000, 138
    keys = np.zeros(2 + cascade._FEISTEL_ROUNDS, dtype=np.uint64)
    cascade._shuffle_pass(
        np.zeros(size, np.uint8), np.zeros(size, np.uint8), keys, block, np.uint64(9), True
    )
    blocks = np.array([cascade._permute(keys, size, i) // block for i in range(size)])
    p = (block - 1) / (size - 1)
    for gap in (1, 37):
        pairs = size - gap
        together = int(np.sum(blocks[gap:] == blocks[:-gap]))
        assert abs(together - pairs * p) < 5 * math.sqrt(pairs * p * (1 - p))


def _reference_binary(alice: np.ndarray, bob: np.ndarray, order: np.ndarray) -> tuple[int, int]:
    start, stop, disclosed = 0, order.size, 0
    while stop - start > 1:
        middle = (start + stop) // 2
        disclosed += 1
        if np.bitwise_xor.reduce(alice[order[start:middle]] ^ bob[order[start:middle]]):
            stop = middle
        else:
            start = middle
    return int(order[start]), disclosed


@settings(max_examples=60, deadline=None)
@given(size=st.integers(2, 700), seed=st.integers(0, 2**32 - 1), member=st.sampled_from([0, 1]))
def test_binary_on_a_biconf_half_is_the_bisection_of_its_members(
    size: int, seed: int, member: int
) -> None:
    # The word-level BINARY of a BICONF block must disclose exactly what the textbook bisection over
    # the block's members (in index order) discloses and find the same error.
    rng = np.random.default_rng(seed)
    alice = rng.integers(0, 2, size, dtype=np.uint8)
    bob = alice ^ (rng.random(size) < 0.1).astype(np.uint8)
    mask = rng.integers(0, 2, size, dtype=np.uint8)
    members = np.flatnonzero(mask == member)
    if members.size == 0 or not np.bitwise_xor.reduce(alice[members] ^ bob[members]):
        bob[members[0] if members.size else 0] ^= 1  # an odd number of errors in the block
        members = np.flatnonzero(mask == member)
        if members.size == 0:
            return
    found = cascade._binary_half(
        cascade._pack(alice), cascade._pack(bob), cascade._pack(mask), member, members.size
    )
    assert found == _reference_binary(alice, bob, members)
