"""Privacy amplification by Toeplitz hashing, computed exactly (carry-less Karatsuba, or FFT).

A Toeplitz matrix ``T`` (``m x n`` over GF(2)) is fixed by a seed of ``n + m - 1`` bits,
``T[i, j] = seed[i - j + n - 1]``; the family of such maps is 2-universal (Krawczyk, CRYPTO '94,
LNCS 839, 129), so by the leftover hash lemma (Impagliazzo, Levin, Luby, STOC '89; Tomamichel et
al., IEEE Trans. Inf. Theory 57, 5524 (2011)) hashing to ``m`` bits removes Eve's information when
``m`` is below the smooth min-entropy minus ``2 log2(1/(2 eps_PA))``.

``y = T x`` is the middle of the linear convolution of ``seed`` and ``x``:
``y[i] = (seed * x)[i + n - 1] mod 2``, i.e. a slice of the product of two polynomials over GF(2).

On x86-64 it is computed exactly in integer arithmetic, as the middle product it is: with the key
reversed, ``y`` is a Hankel matrix times a vector; bits are packed 64 to a word, the transposed
Karatsuba step (Hanrot, Quercia, Zimmermann, "The middle product algorithm I", AAECC 14, 415
(2004)) splits the square Hankel product into three of half size down to blocks of at most 32
words, which the CPU's carry-less multiply instruction (PCLMULQDQ, reached through an LLVM
intrinsic from numba) finishes. Only the m output words are ever computed, which is why this is
cheaper than multiplying the polynomials and taking the middle.

Elsewhere, or if that instruction cannot be compiled, the integer convolution is computed with a real FFT of a
5-smooth length >= n + m - 1 (Tang et al., Sci. Rep. 9, 15733 (2019) use the same idea); each
integer is at most ``min(n, m + ...)`` <= n, and float64 FFT rounding errors stay far below 0.5 up
to a few million bits. So that "exact" is a checked property and not a hope, every result is
verified to lie within 0.25 of an integer before rounding, and inputs longer than
``_EXACT_CHUNK_BITS`` are split into column blocks whose products are XORed together
(``T x = XOR_c T[:, c] x[c]``, each ``T[:, c]`` being Toeplitz with a slice of the seed).
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any, Final

import numba
import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import ArrayLike, NDArray

from qsafecity.errors import InputError, QKDError
from qsafecity.qkd.physics import binary_entropy

BitArray = NDArray[np.uint8]

#: Column-block length below which the float64 FFT convolution is exact with a wide margin
#: (REFERENCE.md §6 measured exactness to about 4e6 bits; we stay a factor 2 below).
_EXACT_CHUNK_BITS: Final = 1 << 21
#: Largest rounding error accepted before rounding to an integer; above it the FFT is not trusted.
_ROUNDING_TOLERANCE: Final = 0.25


#: Word count at and below which a Hankel block is multiplied directly with carry-less products.
_KARATSUBA_BASE_WORDS: Final = 32
WordArray = NDArray[np.uint64]


@intrinsic
def _clmul(typing_context: Any, a: Any, b: Any) -> Any:
    """Carry-less product of two 64-bit words as (low word, high word): PCLMULQDQ."""
    signature = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)  # type: ignore[no-untyped-call]

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        vector = ir.VectorType(ir.IntType(64), 2)
        first = ir.Constant(ir.IntType(32), 0)
        second = ir.Constant(ir.IntType(32), 1)
        left = builder.insert_element(ir.Constant(vector, None), args[0], first)
        right = builder.insert_element(ir.Constant(vector, None), args[1], first)
        function = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module,
            ir.FunctionType(vector, [vector, vector, ir.IntType(8)]),
            "llvm.x86.pclmulqdq",
        )
        product = builder.call(function, [left, right, ir.Constant(ir.IntType(8), 0)])
        low = builder.extract_element(product, first)
        high = builder.extract_element(product, second)
        return context.make_tuple(builder, sig.return_type, [low, high])

    return signature, codegen


@numba.njit(cache=True, nogil=True)
def _hankel(seed: WordArray, z: WordArray, out: WordArray) -> None:
    """``out = H(seed) z`` for the block-Hankel matrix of 64x64-bit blocks over GF(2).

    ``z`` has n words, ``seed`` 2n words, ``out`` n words. Block (I, K) maps word ``z[K]`` through
    the 128-bit seed window of words ``I+K`` and ``I+K+1``: with the bits of each ``z`` word
    reversed, output word I is bits 63..126 of ``sum_K window(I+K) * z[K]`` (carry-less), which
    needs one carry-less product per (I, K) (the high half of one term pairs with the low half of
    the next diagonal). Above the base size the transposed Karatsuba step halves the problem into
    three Hankel products (Hanrot, Quercia, Zimmermann, AAECC 14, 415 (2004)):
    ``P = H1 (z0 + z1)``, ``y0 = P + (H0 + H1) z0``, ``y1 = P + (H2 + H1) z1``.
    """
    n = z.size
    if n <= _KARATSUBA_BASE_WORDS or n % 2 == 1:
        low = np.empty(n + 1, dtype=np.uint64)
        high = np.empty(n + 1, dtype=np.uint64)
        for i in range(n + 1):
            acc_low = np.uint64(0)
            acc_high = np.uint64(0)
            for k in range(n):
                # The intrinsic is called with its runtime arguments only (numba adds the
                # typing context), which mypy cannot see.
                product_low, product_high = _clmul(seed[i + k], z[k])  # type: ignore[call-arg,var-annotated]
                acc_low ^= product_low
                acc_high ^= product_high
            low[i] = acc_low
            high[i] = acc_high
        for i in range(n):
            out[i] = (low[i] >> np.uint64(63)) | ((high[i] ^ low[i + 1]) << np.uint64(1))
        return
    half = n // 2
    shared = np.empty(half, dtype=np.uint64)
    _hankel(seed[half : 3 * half], z[:half] ^ z[half:], shared)
    first = np.empty(half, dtype=np.uint64)
    _hankel(seed[: 2 * half] ^ seed[half : 3 * half], z[:half], first)
    second = np.empty(half, dtype=np.uint64)
    _hankel(seed[2 * half : 4 * half] ^ seed[half : 3 * half], z[half:], second)
    out[:half] = shared ^ first
    out[half:] = shared ^ second


def _recursion_size(words: int) -> int:
    """Smallest size >= words of the form b 2^k with b <= the base size (zero padding)."""
    shift = 0
    while -(-words // (1 << shift)) > _KARATSUBA_BASE_WORDS:
        shift += 1
    return -(-words // (1 << shift)) * (1 << shift)


def _pack_words(bits: BitArray, words: int) -> WordArray:
    padded = np.zeros(words * 64, dtype=np.uint8)
    used = min(bits.size, padded.size)
    padded[:used] = bits[:used]
    return np.packbits(padded, bitorder="little").view("<u8").astype(np.uint64)


def _toeplitz_clmul(bits: BitArray, seed: BitArray, output_bits: int) -> BitArray:
    """``y[i] = sum_k seed[i + k] z[k]`` with ``z`` the key reversed: a Hankel product, cut into
    square blocks of the output's size and run through :func:`_hankel`."""
    n = bits.size
    key_words = -(-n // 64)
    reversed_bits = np.zeros(key_words * 64, dtype=np.uint8)
    reversed_bits[:n] = bits[::-1]
    # Reverse the bits inside each word too (see _hankel): one reshape, no per-bit loop.
    z = _pack_words(reversed_bits.reshape(-1, 64)[:, ::-1].ravel(), key_words)
    size = _recursion_size(-(-output_bits // 64))
    chunks = -(-key_words // size)
    seed_words = _pack_words(seed, (chunks + 1) * size)
    result = np.zeros(size, dtype=np.uint64)
    part = np.empty(size, dtype=np.uint64)
    for chunk in range(chunks):
        block = np.zeros(size, dtype=np.uint64)
        piece = z[chunk * size : (chunk + 1) * size]
        block[: piece.size] = piece
        _hankel(
            np.ascontiguousarray(seed_words[chunk * size : chunk * size + 2 * size]), block, part
        )
        result ^= part
    return np.ascontiguousarray(
        np.unpackbits(result.view(np.uint8), bitorder="little")[:output_bits]
    )


@cache
def carryless_multiply_available() -> bool:
    """Whether the carry-less path compiles here and agrees with the FFT path (itself checked
    against the explicit product in the tests) on a case that exercises the recursion."""
    rng = np.random.default_rng(0)
    key = rng.integers(0, 2, 3000, dtype=np.uint8)
    seed = rng.integers(0, 2, 3000 + 2500 - 1, dtype=np.uint8)
    try:
        fast = _toeplitz_clmul(key, seed, 2500)
    except Exception:  # LLVM cannot select PCLMULQDQ on this CPU: use the FFT path.
        return False
    return bool(np.array_equal(fast, _toeplitz_fft(key, seed, 2500)))


def _fast_length(target: int) -> int:
    """Smallest 2^a 3^b >= target (lengths pocketfft transforms fastest)."""
    best = 1 << max(0, (target - 1).bit_length())
    power3 = 1
    while power3 < best:
        length = power3
        while length < target:
            length *= 2
        best = min(best, length)
        power3 *= 3
    return best


def _as_bits(values: ArrayLike, what: str) -> BitArray:
    bits = np.ascontiguousarray(values, dtype=np.uint8)
    if bits.ndim != 1:
        raise InputError(f"{what} must be a 1-D array of bits")
    if bits.size and bits.max() > 1:
        raise InputError(f"{what} must hold bits (0 or 1)")
    return bits


def _toeplitz_fft(bits: BitArray, seed: BitArray, output_bits: int) -> BitArray:
    n = bits.size
    length = _fast_length(n + output_bits - 1)
    spectrum = np.fft.rfft(seed.astype(np.float64), length)
    spectrum *= np.fft.rfft(bits.astype(np.float64), length)
    convolution = np.fft.irfft(spectrum, length)[n - 1 : n - 1 + output_bits]
    rounded = np.rint(convolution)
    worst = float(np.max(np.abs(convolution - rounded), initial=0.0))
    if worst > _ROUNDING_TOLERANCE:
        raise QKDError(f"Toeplitz FFT lost exactness (rounding error {worst:.3f}); not hashing")
    return (rounded.astype(np.int64) & 1).astype(np.uint8)


def toeplitz_hash(
    key: ArrayLike, seed: ArrayLike, output_bits: int, *, method: str = "auto"
) -> BitArray:
    """``T(seed) @ key`` over GF(2), exact: carry-less transposed Karatsuba (``clmul``,
    O(n m^0.585) word operations) where the CPU has it, else the FFT (``fft``, O(n log n));
    ``auto`` chooses.

    Parameters
    ----------
    key:
        ``n`` bits (``uint8`` 0/1).
    seed:
        ``n + output_bits - 1`` bits defining the Toeplitz matrix.
    output_bits:
        ``m``, the length of the hash.

    Examples
    --------
    >>> import numpy as np
    >>> toeplitz_hash(np.array([1, 0, 1], np.uint8), np.array([1, 1, 0, 1], np.uint8), 2).tolist()
    [1, 1]
    """
    bits = _as_bits(key, "key")
    seed_bits = _as_bits(seed, "Toeplitz seed")
    if output_bits < 0:
        raise InputError(f"output length must be >= 0, got {output_bits}")
    n = bits.size
    if seed_bits.size != n + output_bits - 1 and not (n == 0 or output_bits == 0):
        raise InputError(
            f"a Toeplitz seed for {n} -> {output_bits} bits has {n + output_bits - 1} bits, "
            f"got {seed_bits.size}"
        )
    if n == 0 or output_bits == 0:
        return np.zeros(output_bits, dtype=np.uint8)
    if method == "auto":
        method = "clmul" if carryless_multiply_available() else "fft"
    if method == "clmul":
        return _toeplitz_clmul(bits, seed_bits, output_bits)
    if method != "fft":
        raise ValueError(f"unknown Toeplitz method {method!r}")
    result = np.zeros(output_bits, dtype=np.uint8)
    # Column block [c0, c1) of T uses seed[c0' .. ] with T[i, j] = seed[i - j + n - 1]: for
    # j in [c0, c1) the needed seed indices are i - j + n - 1 in [n - c1, n - c0 + m - 2].
    for c0 in range(0, n, _EXACT_CHUNK_BITS):
        c1 = min(n, c0 + _EXACT_CHUNK_BITS)
        block_seed = seed_bits[n - c1 : n - c0 + output_bits - 1]
        result ^= _toeplitz_fft(bits[c0:c1], block_seed, output_bits)
    return result


def toeplitz_hash_reference(key: ArrayLike, seed: ArrayLike, output_bits: int) -> BitArray:
    """The explicit GF(2) product ``T @ key`` (O(n m) memory and time; for tests only)."""
    bits = _as_bits(key, "key").astype(np.int64)
    seed_bits = _as_bits(seed, "Toeplitz seed").astype(np.int64)
    n = bits.size
    rows = np.arange(output_bits).reshape(-1, 1)
    columns = np.arange(n).reshape(1, -1)
    matrix = seed_bits[rows - columns + n - 1]
    product: NDArray[np.int64] = matrix @ bits
    return (product & 1).astype(np.uint8)


def secure_output_length(
    sifted_bits: int,
    phase_error_upper: float,
    leaked_bits: int,
    epsilon_pa: float = 1e-10,
    epsilon_ec: float = 1e-10,
) -> int:
    """Final key length ``n (1 - H2(e_ph)) - leak - log2(2/eps_EC) - 2 log2(1/(2 eps_PA))``.

    The bound is that of Tomamichel, Lim, Gisin, Renner, Nat. Commun. 3, 634 (2012), eq. (2), with
    the phase-error rate ``phase_error_upper`` already an upper confidence bound (finite size) and
    ``leaked_bits`` the reconciliation leak actually disclosed (including the verification tag).
    Never negative.
    """
    if sifted_bits < 0 or leaked_bits < 0:
        raise InputError("bit counts must be >= 0")
    if not (0.0 < epsilon_pa < 1.0 and 0.0 < epsilon_ec < 1.0):
        raise InputError("security parameters must be in (0, 1)")
    if phase_error_upper >= 0.5:
        return 0
    entropy = sifted_bits * (1.0 - float(binary_entropy(phase_error_upper)))
    margin = math.log2(2.0 / epsilon_ec) + 2.0 * math.log2(1.0 / (2.0 * epsilon_pa))
    return max(0, math.floor(entropy - leaked_bits - margin))


def amplify(
    key: ArrayLike, output_bits: int, rng: np.random.Generator
) -> tuple[BitArray, BitArray]:
    """Hash ``key`` to ``output_bits`` with a fresh public seed: (final key, seed)."""
    bits = _as_bits(key, "key")
    if not (0 <= output_bits <= bits.size):
        raise InputError(f"output length must be in [0, {bits.size}], got {output_bits}")
    seed = rng.integers(0, 2, size=max(0, bits.size + output_bits - 1), dtype=np.uint8)
    return toeplitz_hash(bits, seed, output_bits), seed
