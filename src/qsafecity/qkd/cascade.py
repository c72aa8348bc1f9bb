"""Cascade information reconciliation, original and BICONF-modified, with honest leak counting.

Cascade (Brassard and Salvail, EUROCRYPT '93, LNCS 765, 410) corrects Bob's sifted key towards
Alice's by comparing parities over the public channel. We follow the analysis and the variants of
Martinez-Mateo, Pacher, Peev, Ciurana and Martin, "Demystifying the information reconciliation
protocol Cascade", QIC 15, 453 (2015), arXiv:1407.3257 (below: *Demystifying*):

* a *pass* splits the key, reordered by a public random permutation (identity in pass 1), into
  blocks; Alice discloses the parity of each block; every block whose parities differ holds an odd
  number of errors and BINARY (a bisection that discloses the parity of one half per step) finds
  and flips one of them;
* the *cascade effect*: flipping a bit changes the parity of the block holding it in every earlier
  pass, which now shows a mismatch and is bisected in turn (smaller blocks, i.e. earlier passes,
  first);
* **original**: 4 passes, ``k1 = ceil(0.73/Q)``, each later block size doubled (Demystifying §3);
* **BICONF-modified**: 2 Cascade passes with ``k1 = ceil(0.92/Q)`` and ``k2 = 3 k1``, then BICONF
  passes (Brassard-Salvail's BICONF, as in Demystifying §5): a random half of the key and its
  complement form the two blocks, with cascading into every earlier pass, until a number of
  consecutive BICONF passes find no error.

Leak counting (REFERENCE.md §6): every parity Alice discloses is one leaked bit: one per block per
pass, and one per BINARY step (Bob learns the parity of the other half by subtraction). The only
parity not disclosed is the one that follows from parities already public: after the first pass
the parity of Alice's whole key is public (the sum of her block parities), so in every later pass
the last block's parity is inferred instead of sent. The verification hash that follows adds its
tag length to the leak. ``f_EC = leaked_bits / (n H2(Q))`` uses the *true* QBER of the frame.

The bit-level work runs in numba-compiled kernels. Nothing of size n is stored per pass: a
shuffled pass is a keyed pseudo-random permutation computed on demand (a 4-round Feistel network
with cycle walking), whose block of any index, or index at any position, costs a few
multiplications; a BICONF pass is the bit mask of its random half, whose parities are popcounts of
whole words. The keys of the permutations and the masks come from SplitMix64 seeded by the
caller's ``numpy.random.Generator``, so a run is reproducible from its seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import numba
import numpy as np
from numpy.typing import NDArray

from qsafecity.errors import InputError, QKDError
from qsafecity.qkd.physics import binary_entropy
from qsafecity.qkd.privacy import toeplitz_hash

BitArray = NDArray[np.uint8]
OffsetArray = NDArray[np.int64]
WordArray = NDArray[np.uint64]

#: Below this estimated QBER the block size is capped (1/Q would exceed any frame).
_MIN_QBER: Final = 1e-4
#: Consecutive error-free BICONF passes after which the modified Cascade stops. After a pass that
#: finds nothing, a remaining (necessarily even, by the public total parity) set of errors splits
#: into an odd number in the random half with probability 1/2, so k quiet passes leave residual
#: errors with probability <= 2^-k; 20 gives < 1e-6 per frame and costs 20 leaked bits.
DEFAULT_BICONF_QUIET_PASSES: Final = 20


class CascadeVariant(StrEnum):
    """The two Cascade schedules of Demystifying."""

    ORIGINAL = "original"
    BICONF = "biconf"


@dataclass(frozen=True, slots=True)
class ReconciliationResult:
    """What reconciliation did and disclosed.

    Attributes
    ----------
    corrected_key:
        Bob's key after correction (equal to Alice's unless errors were missed).
    leaked_bits:
        Every parity disclosed on the public channel (block parities and BINARY steps).
    errors_corrected:
        Bits Bob flipped.
    passes:
        Passes run (Cascade and BICONF).
    """

    corrected_key: BitArray
    leaked_bits: int
    errors_corrected: int
    passes: int

    def efficiency(self, qber: float) -> float:
        """``f_EC = leaked_bits / (n H2(qber))`` (1.0 is the Shannon limit)."""
        entropy = float(binary_entropy(qber))
        size = self.corrected_key.size
        return math.inf if entropy == 0.0 or size == 0 else self.leaked_bits / (size * entropy)


@numba.njit(cache=True, nogil=True)
def _binary(
    alice: BitArray, bob: BitArray, keys: WordArray, start: int, stop: int
) -> tuple[int, int]:
    """BINARY on positions [start, stop) of a regular pass whose order is the permutation
    ``keys`` (see :func:`_permute`): (index of an error, parities disclosed)."""
    size = alice.size
    disclosed = 0
    while stop - start > 1:
        middle = (start + stop) // 2
        parity = 0
        for position in range(start, middle):
            index = _unpermute(keys, size, position)
            parity ^= alice[index] ^ bob[index]
        disclosed += 1
        if parity:
            stop = middle
        else:
            start = middle
    return _unpermute(keys, size, start), disclosed


@numba.njit(cache=True, nogil=True)
def _select_prefix(
    alice_words: WordArray,
    bob_words: WordArray,
    mask: WordArray,
    member: int,
    start: int,
    needed: int,
) -> tuple[int, int]:
    """The first ``needed`` members at or after index ``start`` of the set ``{i : bit i of mask
    == member}``: (index just past the last of them, parity of alice XOR bob over them).

    Word-level: whole words are counted with a popcount, and only the last word is walked bit by
    bit. The caller guarantees that the set has ``needed`` members from ``start`` on.
    """
    word = start >> 6
    bits = mask[word] if member else ~mask[word]
    bits &= ~np.uint64(0) << np.uint64(start & 63)
    parity = 0
    while True:
        count = _popcount(bits)
        if count >= needed:
            break
        parity ^= _popcount(bits & (alice_words[word] ^ bob_words[word])) & 1
        needed -= count
        word += 1
        bits = mask[word] if member else ~mask[word]
    # Keep the lowest ``needed`` members of this word.
    kept = np.uint64(0)
    for _ in range(needed):
        lowest = bits & (~bits + np.uint64(1))
        kept |= lowest
        bits ^= lowest
    parity ^= _popcount(kept & (alice_words[word] ^ bob_words[word])) & 1
    return (word << 6) + 64 - _leading_zeros(kept), parity


@numba.njit(cache=True, nogil=True)
def _binary_half(
    alice_words: WordArray, bob_words: WordArray, mask: WordArray, member: int, count: int
) -> tuple[int, int]:
    """BINARY on a block of a BICONF pass (the members of ``mask == member`` in increasing
    index order, ``count`` of them): (index of an error, parities disclosed).

    The same bisection as :func:`_binary` (left half = the first ``count // 2`` members), with
    each half found by counting bits in words instead of walking a stored order.
    """
    disclosed = 0
    start = 0
    while count > 1:
        left = count // 2
        stop, parity = _select_prefix(alice_words, bob_words, mask, member, start, left)
        disclosed += 1
        if parity:
            count = left
        else:
            start = stop
            count -= left
    index, _ = _select_prefix(alice_words, bob_words, mask, member, start, 1)
    return index - 1, disclosed


# A numba kernel takes its state as positional arrays (no objects), hence the long signature.
@numba.njit(cache=True, nogil=True)
def _correct_pass(
    alice: BitArray,
    bob: BitArray,
    alice_words: WordArray,
    bob_words: WordArray,
    regular_keys: WordArray,
    regular_sizes: OffsetArray,
    regular_passes: int,
    masks: WordArray,
    starts: OffsetArray,
    start_offsets: OffsetArray,
    block_offsets: OffsetArray,
    alice_parity: BitArray,
    bob_parity: BitArray,
    current_pass: int,
) -> tuple[int, int]:
    """Bisect every mismatched block of passes 0..current_pass until none is left.

    Passes below ``regular_passes`` are stored as the keys of their permutation and their block
    size; later ones (BICONF) as the bit mask of their random half (block 0: bits set; block 1:
    the complement).
    Returns (parities disclosed, bits flipped).
    """
    total_blocks = block_offsets[current_pass + 1]
    stack = np.empty(total_blocks, dtype=np.int64)
    stack_top = np.zeros(current_pass + 1, dtype=np.int64)
    queued = np.zeros(total_blocks, dtype=np.uint8)
    for block in range(block_offsets[current_pass], total_blocks):
        if alice_parity[block] != bob_parity[block]:
            stack[block_offsets[current_pass] + stack_top[current_pass]] = block
            stack_top[current_pass] += 1
            queued[block] = 1
    disclosed = 0
    flipped = 0
    while True:
        chosen = -1
        for pass_index in range(current_pass + 1):
            if stack_top[pass_index] > 0:
                chosen = pass_index
                break
        if chosen < 0:
            break
        stack_top[chosen] -= 1
        block = stack[block_offsets[chosen] + stack_top[chosen]]
        queued[block] = 0
        if alice_parity[block] == bob_parity[block]:
            continue
        local = block - block_offsets[chosen]
        base = start_offsets[chosen]
        if chosen < regular_passes:
            index, steps = _binary(
                alice, bob, regular_keys[chosen], starts[base + local], starts[base + local + 1]
            )
        else:
            index, steps = _binary_half(
                alice_words,
                bob_words,
                masks[chosen - regular_passes],
                1 - local,
                starts[base + local + 1] - starts[base + local],
            )
        disclosed += steps
        bob[index] ^= 1
        bob_words[index >> 6] ^= np.uint64(1) << np.uint64(index & 63)
        flipped += 1
        for pass_index in range(current_pass + 1):
            if pass_index < regular_passes:
                position = _permute(regular_keys[pass_index], alice.size, index)
                local = position // regular_sizes[pass_index]
            else:
                word = masks[pass_index - regular_passes, index >> 6]
                local = 1 - int((word >> np.uint64(index & 63)) & np.uint64(1))
            other = block_offsets[pass_index] + local
            bob_parity[other] ^= 1
            if alice_parity[other] != bob_parity[other] and queued[other] == 0:
                stack[block_offsets[pass_index] + stack_top[pass_index]] = other
                stack_top[pass_index] += 1
                queued[other] = 1
    return disclosed, flipped


_GOLDEN: Final = np.uint64(0x9E3779B97F4A7C15)
_MIX1: Final = np.uint64(0xBF58476D1CE4E5B9)
_MIX2: Final = np.uint64(0x94D049BB133111EB)


@numba.njit(cache=True, nogil=True)
def _splitmix64(state: NDArray[np.uint64]) -> np.uint64:
    """Next output of SplitMix64 (Steele, Lea, Flood, OOPSLA 2014); ``state`` is a 1-array.

    The shuffles of Cascade are public, so they need a fast well-mixed generator, not a secret
    one; it is seeded from the caller's ``numpy.random.Generator``, keeping runs reproducible.
    """
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return np.uint64(z ^ (z >> np.uint64(31)))


#: Feistel rounds of the shuffles: four rounds of a pseudo-random function make a pseudo-random
#: permutation (Luby and Rackoff, SIAM J. Comput. 17, 373 (1988)).
_FEISTEL_ROUNDS: Final = 4


@numba.njit(cache=True, nogil=True)
def _feistel_bits(size: int) -> int:
    """Width of the smallest power-of-two domain (at least 4) holding ``size`` indices."""
    bits = 2
    while (1 << bits) < size:
        bits += 1
    return bits


@numba.njit(cache=True, nogil=True)
def _round_function(value: np.uint64, key: np.uint64, bits: int) -> np.uint64:
    """A keyed 64-bit mix (the SplitMix64 finaliser) cut to ``bits`` bits."""
    z = (value ^ key) * _MIX1
    z = (z ^ (z >> np.uint64(31))) * _MIX2
    return z >> np.uint64(64 - bits)


@numba.njit(cache=True, nogil=True)
def _permute(keys: WordArray, size: int, index: int) -> int:
    """Position of ``index`` in a pass: a keyed pseudo-random permutation of [0, size).

    ``keys[0] == 0`` is the identity (pass 1). Otherwise an unbalanced Feistel network on the
    d = ``keys[1]`` bits of the smallest power-of-two domain holding ``size`` (halves of
    ``d // 2`` and ``d - d // 2`` bits, swapping roles each round; round keys ``keys[2:]``), with
    cycle walking (Black and Rogaway, CT-RSA 2002) until the value falls in [0, size): a bijection
    of [0, size) that is computed, not stored, so a shuffled pass needs no table and the block of
    any index costs a few multiplications. The domain is under 2 size, so a walk takes fewer than
    two rounds of the network on average.
    """
    if keys[0] == 0:
        return index
    bits = int(keys[1])
    value = np.uint64(index)
    while True:
        high = bits // 2
        low = bits - high
        for round_index in range(_FEISTEL_ROUNDS):
            left = value >> np.uint64(low)
            right = value & ((np.uint64(1) << np.uint64(low)) - np.uint64(1))
            mixed = left ^ _round_function(right, keys[2 + round_index], high)
            value = (right << np.uint64(high)) | mixed
            high, low = low, high
        if value < size:
            return int(np.int64(value))


@numba.njit(cache=True, nogil=True)
def _unpermute(keys: WordArray, size: int, position: int) -> int:
    """The index at ``position``: the inverse of :func:`_permute` (rounds undone in reverse)."""
    if keys[0] == 0:
        return position
    bits = int(keys[1])
    value = np.uint64(position)
    while True:
        for round_index in range(_FEISTEL_ROUNDS - 1, -1, -1):
            # Round r mapped (left: high bits, right: low bits) with high = d // 2 for even r.
            high = bits // 2 if round_index % 2 == 0 else bits - bits // 2
            low = bits - high
            right = value >> np.uint64(high)
            mixed = value & ((np.uint64(1) << np.uint64(high)) - np.uint64(1))
            left = mixed ^ _round_function(right, keys[2 + round_index], high)
            value = (left << np.uint64(low)) | right
        if value < size:
            return int(np.int64(value))


@numba.njit(cache=True, nogil=True)
def _shuffle_pass(
    alice: BitArray, bob: BitArray, keys: WordArray, block_size: int, seed: np.uint64, shuffle: bool
) -> tuple[BitArray, BitArray]:
    """Draw the permutation's keys into ``keys`` (``keys[0] = 0``: identity) and return Alice's
    and Bob's parities of the blocks of ``block_size`` consecutive positions.

    One sequential sweep over the keys: each index's block is computed and its bit XORed into a
    parity array of n / block_size bytes, so nothing of size n is written.
    """
    size = alice.size
    state = np.empty(1, dtype=np.uint64)
    state[0] = seed
    keys[0] = np.uint64(1) if shuffle else np.uint64(0)
    keys[1] = np.uint64(_feistel_bits(size))
    for round_index in range(_FEISTEL_ROUNDS):
        keys[2 + round_index] = _splitmix64(state)
    blocks = (size + block_size - 1) // block_size
    alice_parity = np.zeros(blocks, dtype=np.uint8)
    bob_parity = np.zeros(blocks, dtype=np.uint8)
    for index in range(size):
        block = _permute(keys, size, index) // block_size
        alice_parity[block] ^= alice[index]
        bob_parity[block] ^= bob[index]
    return alice_parity, bob_parity


@numba.njit(cache=True, nogil=True)
def _popcount(word: np.uint64) -> int:
    """Set bits of a 64-bit word (SWAR, Hacker's Delight 5-1)."""
    word = word - ((word >> np.uint64(1)) & np.uint64(0x5555555555555555))
    word = (word & np.uint64(0x3333333333333333)) + (
        (word >> np.uint64(2)) & np.uint64(0x3333333333333333)
    )
    word = (word + (word >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((word * np.uint64(0x0101010101010101)) >> np.uint64(56))


@numba.njit(cache=True, nogil=True)
def _leading_zeros(word: np.uint64) -> int:
    """Leading zero bits of a 64-bit word (64 for zero)."""
    if word == 0:
        return 64
    count = 0
    for shift in (32, 16, 8, 4, 2, 1):
        if word >> np.uint64(64 - shift) == 0:
            count += shift
            word <<= np.uint64(shift)
    return count


@numba.njit(cache=True, nogil=True)
def _half_pass(
    alice_words: WordArray, bob_words: WordArray, mask: WordArray, size: int, seed: np.uint64
) -> tuple[int, BitArray, BitArray]:
    """A BICONF pass: a uniformly random half (each bit in with probability 1/2, bit i of
    ``mask``) then its complement; return the size of the half and both parties' parities of the
    two blocks.

    The pass is kept as its mask alone (n/8 bytes): its order (the half in increasing index
    order, then the complement) and its block map follow from the bits, and parities are popcounts
    of whole words, so a pass costs a few microseconds per 10^5 bits and touches no fresh memory.
    """
    state = np.empty(1, dtype=np.uint64)
    state[0] = seed
    chosen = 0
    alice_parity = np.zeros(2, dtype=np.uint8)
    bob_parity = np.zeros(2, dtype=np.uint8)
    for w in range(mask.size):
        word = _splitmix64(state)
        if w == mask.size - 1 and size % 64:
            word &= (np.uint64(1) << np.uint64(size % 64)) - np.uint64(1)
        mask[w] = word
        chosen += _popcount(word)
        alice_parity[0] ^= _popcount(word & alice_words[w]) & 1
        alice_parity[1] ^= _popcount(~word & alice_words[w]) & 1
        bob_parity[0] ^= _popcount(word & bob_words[w]) & 1
        bob_parity[1] ^= _popcount(~word & bob_words[w]) & 1
    return chosen, alice_parity, bob_parity


class _Passes:
    """Growing storage of the passes run so far: the regular passes' permutation keys, the
    BICONF passes' masks, every block's bounds and both parties' block parities, and both keys
    packed 64 bits to a word (Bob's kept in step with his corrections)."""

    def __init__(self, alice: BitArray, bob: BitArray, regular: int, halves: int) -> None:
        self.size = alice.size
        self.alice = alice
        self.bob = bob
        self.alice_words = _pack(alice)
        self.bob_words = _pack(bob)
        self.regular_keys = np.zeros((regular, 2 + _FEISTEL_ROUNDS), dtype=np.uint64)
        self.regular_sizes = np.zeros(regular, dtype=np.int64)
        self.regular = 0
        self.masks = np.empty((max(1, halves), self.alice_words.size), dtype=np.uint64)
        self.halves = 0
        self.starts = np.zeros(0, dtype=np.int64)
        self.start_offsets = np.zeros(1, dtype=np.int64)
        self.block_offsets = np.zeros(1, dtype=np.int64)
        self.alice_parity = np.zeros(0, dtype=np.uint8)
        self.bob_parity = np.zeros(0, dtype=np.uint8)
        self.count = 0

    def _record(self, starts: OffsetArray, alice_parity: BitArray, bob_parity: BitArray) -> int:
        blocks = starts.size - 1
        self.starts = np.concatenate([self.starts, starts])
        self.start_offsets = np.append(self.start_offsets, self.starts.size)
        self.block_offsets = np.append(self.block_offsets, self.block_offsets[-1] + blocks)
        self.alice_parity = np.concatenate([self.alice_parity, alice_parity])
        self.bob_parity = np.concatenate([self.bob_parity, bob_parity])
        self.count += 1
        return blocks

    def add_regular(self, block_size: int, seed: int, shuffle: bool) -> int:
        """A Cascade pass: blocks of ``block_size`` over a shuffle (identity when not
        ``shuffle``); return its number of blocks. Regular passes all come before BICONF ones."""
        if self.halves:
            raise QKDError("a regular Cascade pass cannot follow a BICONF pass")
        alice_parity, bob_parity = _shuffle_pass(
            self.alice,
            self.bob,
            self.regular_keys[self.regular],
            block_size,
            np.uint64(seed),
            shuffle,
        )
        self.regular_sizes[self.regular] = block_size
        self.regular += 1
        return self._record(_regular_starts(self.size, block_size), alice_parity, bob_parity)

    def add_half(self, seed: int) -> int:
        """A BICONF pass: a random half and its complement; return its number of blocks (2)."""
        if self.halves == self.masks.shape[0]:
            grown = np.empty((2 * self.masks.shape[0], self.masks.shape[1]), dtype=np.uint64)
            grown[: self.halves] = self.masks
            self.masks = grown
        chosen, alice_parity, bob_parity = _half_pass(
            self.alice_words, self.bob_words, self.masks[self.halves], self.size, np.uint64(seed)
        )
        self.halves += 1
        starts = np.array([0, chosen, self.size], dtype=np.int64)
        return self._record(starts, alice_parity, bob_parity)

    def correct(self) -> tuple[int, int]:
        return _correct_pass(
            self.alice,
            self.bob,
            self.alice_words,
            self.bob_words,
            self.regular_keys,
            self.regular_sizes,
            self.regular,
            self.masks,
            self.starts,
            self.start_offsets[:-1],
            self.block_offsets,
            self.alice_parity,
            self.bob_parity,
            self.count - 1,
        )


def _pack(bits: BitArray) -> WordArray:
    """Bits packed 64 to a little-endian word (bit i of the key is bit i % 64 of word i // 64)."""
    padded = np.zeros(-(-bits.size // 64) * 64, dtype=np.uint8)
    padded[: bits.size] = bits
    return np.packbits(padded, bitorder="little").view("<u8").astype(np.uint64)


def _regular_starts(size: int, block_size: int) -> OffsetArray:
    return np.append(np.arange(0, size, block_size, dtype=np.int64), np.int64(size))


def block_sizes(variant: CascadeVariant, qber_estimate: float, size: int) -> list[int]:
    """Block sizes of the Cascade passes (before any BICONF pass), capped at the key length."""
    q = max(qber_estimate, _MIN_QBER)
    if variant is CascadeVariant.ORIGINAL:
        first = math.ceil(0.73 / q)
        sizes = [first, 2 * first, 4 * first, 8 * first]
    else:
        first = math.ceil(0.92 / q)
        sizes = [first, 3 * first]
    return [max(1, min(size, k)) for k in sizes]


def reconcile(
    alice_key: BitArray,
    bob_key: BitArray,
    qber_estimate: float,
    rng: np.random.Generator,
    variant: CascadeVariant | str = CascadeVariant.BICONF,
    *,
    biconf_quiet_passes: int = DEFAULT_BICONF_QUIET_PASSES,
) -> ReconciliationResult:
    """Run Cascade; Alice's key is only read for the parities she would disclose.

    Parameters
    ----------
    alice_key, bob_key:
        Equal-length arrays of 0/1 (``uint8``).
    qber_estimate:
        The QBER estimated in parameter estimation, in (0, 0.5); it sets the block sizes.
    rng:
        Source of the public random permutations (shared by Alice and Bob in a real system).
    variant:
        ``original`` or ``biconf``.
    biconf_quiet_passes:
        BICONF only: stop after this many consecutive passes that find no error.

    Raises
    ------
    InputError
        Keys of different lengths, non-binary values, or a QBER estimate outside (0, 0.5).
    """
    chosen = CascadeVariant(variant)
    alice = np.ascontiguousarray(alice_key, dtype=np.uint8)
    bob = np.array(bob_key, dtype=np.uint8, copy=True)
    if alice.ndim != 1 or alice.shape != bob.shape:
        raise InputError("Alice's and Bob's keys must be 1-D arrays of the same length")
    if alice.size == 0:
        raise InputError("cannot reconcile an empty key")
    if alice.max(initial=0) > 1 or bob.max(initial=0) > 1:
        raise InputError("keys must hold bits (0 or 1)")
    if not (0.0 < qber_estimate < 0.5):
        raise InputError(f"QBER estimate must be in (0, 0.5), got {qber_estimate}")
    if biconf_quiet_passes < 1:
        raise InputError("BICONF needs at least one quiet pass to stop")
    size = alice.size
    sizes = block_sizes(chosen, qber_estimate, size)
    halves = biconf_quiet_passes + 4 if chosen is CascadeVariant.BICONF else 0
    passes = _Passes(alice, bob, regular=len(sizes), halves=halves)
    leaked = 0
    flipped_total = 0

    def account(blocks: int) -> int:
        nonlocal leaked, flipped_total
        # After the first pass Alice's total parity is public: her last block parity follows.
        leaked += blocks if passes.count == 1 else blocks - 1
        disclosed, flipped = passes.correct()
        leaked += disclosed
        flipped_total += flipped
        return flipped

    def new_seed() -> int:
        return int(rng.integers(0, 2**63))

    for pass_index, block_size in enumerate(sizes):
        account(passes.add_regular(block_size, new_seed(), shuffle=pass_index > 0))
    if chosen is CascadeVariant.BICONF:
        quiet = 0
        while quiet < biconf_quiet_passes:
            quiet = 0 if account(passes.add_half(new_seed())) else quiet + 1
    return ReconciliationResult(
        corrected_key=bob,
        leaked_bits=leaked,
        errors_corrected=flipped_total,
        passes=passes.count,
    )


def verify(
    alice_key: BitArray,
    bob_key: BitArray,
    rng: np.random.Generator,
    tag_bits: int = 64,
) -> int:
    """Compare keys through a 2-universal hash; return the bits disclosed or raise.

    Alice sends a random Toeplitz seed and her ``tag_bits``-bit hash (the seed is public and
    independent of the key, so only the tag leaks); two different keys collide with probability
    ``2^-tag_bits`` (Toeplitz hashing is 2-universal: Krawczyk, CRYPTO '94).

    Raises
    ------
    QKDError
        When the hashes differ: reconciliation left errors and the frame must be discarded.
    """
    if not (1 <= tag_bits <= 1024):
        raise InputError(f"verification tag must be 1..1024 bits, got {tag_bits}")
    alice = np.asarray(alice_key, dtype=np.uint8)
    seed = rng.integers(0, 2, size=alice.size + tag_bits - 1, dtype=np.uint8)
    if not np.array_equal(
        toeplitz_hash(alice, seed, tag_bits), toeplitz_hash(bob_key, seed, tag_bits)
    ):
        raise QKDError("key verification failed: reconciliation left errors; frame discarded")
    return tag_bits
