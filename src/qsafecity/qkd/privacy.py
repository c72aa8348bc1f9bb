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
words, which the CPU's carry-less multiply finishes (PCLMULQDQ, or VPCLMULQDQ on 256-bit
registers, two products per instruction, where the CPU has it; reached through LLVM intrinsics
from numba). Odd sizes peel off a column and a row instead of padding. The kernels address one
buffer by word offsets, so the recursion passes integers rather than arrays. Only the m output
words are ever computed, which is why this is cheaper than multiplying the polynomials and
taking the middle.

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
from llvmlite import binding as llvm_binding  # type: ignore[import-untyped]
from llvmlite import ir
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


#: Word count at and below which a Hankel block is multiplied directly with carry-less products
#: (measured: 32 and 48 are equally fast; 16 pays more in recursion than it saves in products).
_KARATSUBA_BASE_WORDS: Final = 32
WordArray = NDArray[np.uint64]

_I8 = ir.IntType(8)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_PAIR = ir.VectorType(_I64, 2)
_QUAD = ir.VectorType(_I64, 4)


def _host_has(*features: str) -> bool:
    """Whether the CPU numba compiles for has every named LLVM feature (``pclmul``, ...)."""
    if getattr(numba.config, "CPU_NAME", None) not in (None, "host"):
        return False  # numba targets another CPU: assume only what every x86-64 has
    try:
        available = llvm_binding.get_host_cpu_features()
    except RuntimeError:  # LLVM cannot read this CPU's features: assume none
        return False
    return all(available.get(feature, False) for feature in features)


#: VPCLMULQDQ on 256-bit registers (two carry-less products per instruction, Zen 3, Ice Lake and
#: later): decided once, when the kernels are compiled; without it the 128-bit instruction is used.
_WIDE_CLMUL: Final = _host_has("pclmul", "avx2", "vpclmulqdq")


def _word_pointer(builder: Any, address: Any, index: Any) -> Any:
    """``(uint64 *) address + index`` in LLVM IR."""
    return builder.gep(builder.inttoptr(address, _I64.as_pointer()), [index])


def _load_quad(builder: Any, pointer: Any, index: Any) -> Any:
    """Four consecutive words from ``pointer + index`` as one vector (unaligned load)."""
    quad_pointer = builder.bitcast(builder.gep(pointer, [index]), _QUAD.as_pointer())
    return builder.load(quad_pointer, align=8)


def _llvm_function(builder: Any, name: str, result: Any, arguments: list[Any]) -> Any:
    return cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
        builder.module, ir.FunctionType(result, arguments), name
    )


def _pair_clmul(builder: Any, left: Any, right: Any) -> Any:
    """PCLMULQDQ of the low words of two <2 x i64> vectors: their 128-bit carry-less product."""
    function = _llvm_function(builder, "llvm.x86.pclmulqdq", _PAIR, [_PAIR, _PAIR, _I8])
    return builder.call(function, [left, right, ir.Constant(_I8, 0)])


def _as_pair(builder: Any, word: Any) -> Any:
    return builder.insert_element(ir.Constant(_PAIR, None), word, ir.Constant(_I32, 0))


def _split_pair(context: Any, builder: Any, signature: Any, pair: Any) -> Any:
    low = builder.extract_element(pair, ir.Constant(_I32, 0))
    high = builder.extract_element(pair, ir.Constant(_I32, 1))
    return context.make_tuple(builder, signature.return_type, [low, high])


# The intrinsics below take their arguments as numba types at typing time (the typing context
# first); numba calls them with the runtime arguments only, which mypy cannot see.
@intrinsic
def _clmul(typing_context: Any, a: Any, b: Any) -> Any:
    """Carry-less product of two 64-bit words as (low word, high word): PCLMULQDQ."""
    signature = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)  # type: ignore[no-untyped-call]

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        product = _pair_clmul(builder, _as_pair(builder, args[0]), _as_pair(builder, args[1]))
        return _split_pair(context, builder, sig, product)

    return signature, codegen


@intrinsic
def _load_word(typing_context: Any, address: Any, index: Any) -> Any:
    """Word ``index`` of the buffer at ``address``."""
    signature = types.uint64(types.intp, types.intp)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.load(_word_pointer(builder, args[0], args[1]))

    return signature, codegen


@intrinsic
def _store_word(typing_context: Any, address: Any, index: Any, value: Any) -> Any:
    """Set word ``index`` of the buffer at ``address``."""
    signature = types.void(types.intp, types.intp, types.uint64)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        builder.store(args[2], _word_pointer(builder, args[0], args[1]))
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _clmul_dot(typing_context: Any, address: Any, left: Any, right: Any, count: Any) -> Any:
    """XOR over k < count of the carry-less products of words ``left + k`` and ``right + k``
    of the buffer at ``address``, as (low word, high word).

    The 128-bit sum stays in vector registers: with VPCLMULQDQ each instruction multiplies two
    pairs (words k, k+2 with immediate 0x00, words k+1, k+3 with 0x11, straight from two unaligned
    256-bit loads), and the two 128-bit lanes are folded once at the end.
    """
    signature = types.UniTuple(types.uint64, 2)(types.intp, types.intp, types.intp, types.intp)  # type: ignore[no-untyped-call]

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        left_pointer = _word_pointer(builder, args[0], args[1])
        right_pointer = _word_pointer(builder, args[0], args[2])
        count = args[3]
        four = ir.Constant(_I64, 4)
        done = ir.Constant(_I64, 0)
        total = cgutils.alloca_once_value(builder, ir.Constant(_PAIR, None))  # type: ignore[no-untyped-call]
        if _WIDE_CLMUL:
            wide = _llvm_function(builder, "llvm.x86.pclmulqdq.256", _QUAD, [_QUAD, _QUAD, _I8])
            quads = builder.udiv(count, four)
            lanes = cgutils.alloca_once_value(builder, ir.Constant(_QUAD, None))  # type: ignore[no-untyped-call]
            with cgutils.for_range(builder, quads) as loop:
                offset = builder.mul(loop.index, four)
                a = _load_quad(builder, left_pointer, offset)
                b = _load_quad(builder, right_pointer, offset)
                even = builder.call(wide, [a, b, ir.Constant(_I8, 0x00)])
                odd = builder.call(wide, [a, b, ir.Constant(_I8, 0x11)])
                builder.store(builder.xor(builder.load(lanes), builder.xor(even, odd)), lanes)
            folded = builder.load(lanes)
            low_lane = builder.shuffle_vector(
                folded, folded, ir.Constant(ir.VectorType(_I32, 2), [0, 1])
            )
            high_lane = builder.shuffle_vector(
                folded, folded, ir.Constant(ir.VectorType(_I32, 2), [2, 3])
            )
            builder.store(builder.xor(low_lane, high_lane), total)
            done = builder.mul(quads, four)
        with cgutils.for_range(builder, builder.sub(count, done)) as loop:
            k = builder.add(done, loop.index)
            a = _as_pair(builder, builder.load(builder.gep(left_pointer, [k])))
            b = _as_pair(builder, builder.load(builder.gep(right_pointer, [k])))
            builder.store(builder.xor(builder.load(total), _pair_clmul(builder, a, b)), total)
        return _split_pair(context, builder, sig, builder.load(total))

    return signature, codegen


@intrinsic
def _xor_words(typing_context: Any, address: Any, target: Any, a: Any, b: Any, count: Any) -> Any:
    """Words ``target + i`` = words ``a + i`` XOR ``b + i`` (i < count) of the buffer at
    ``address``, four at a time (LLVM cannot vectorise this itself: it cannot rule out overlap,
    which the callers do)."""
    signature = types.void(types.intp, types.intp, types.intp, types.intp, types.intp)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        target_pointer = _word_pointer(builder, args[0], args[1])
        a_pointer = _word_pointer(builder, args[0], args[2])
        b_pointer = _word_pointer(builder, args[0], args[3])
        four = ir.Constant(_I64, 4)
        quads = builder.udiv(args[4], four)
        with cgutils.for_range(builder, quads) as loop:
            offset = builder.mul(loop.index, four)
            value = builder.xor(
                _load_quad(builder, a_pointer, offset), _load_quad(builder, b_pointer, offset)
            )
            destination = builder.bitcast(builder.gep(target_pointer, [offset]), _QUAD.as_pointer())
            builder.store(value, destination, align=8)
        done = builder.mul(quads, four)
        with cgutils.for_range(builder, builder.sub(args[4], done)) as loop:
            k = builder.add(done, loop.index)
            value = builder.xor(
                builder.load(builder.gep(a_pointer, [k])), builder.load(builder.gep(b_pointer, [k]))
            )
            builder.store(value, builder.gep(target_pointer, [k]))
        return context.get_dummy_value()

    return signature, codegen


@numba.njit(cache=True, nogil=True)
def _window(low: np.uint64, high: np.uint64, next_low: np.uint64) -> np.uint64:
    """Bits 63..126 of the 192-bit sum ``(high:low) + (next << 64)``: one output word."""
    return (low >> np.uint64(63)) | ((high ^ next_low) << np.uint64(1))


@numba.njit(cache=True, nogil=True)
def _hankel_direct(memory: int, seed: int, z: int, out: int, n: int) -> None:
    """``out = H z`` word by word: (n + 1) dot products of n carry-less products each.

    Output word I is bits 63..126 of ``sum_K (seed[I+K] + seed[I+K+1] 2^64) z[K]``, i.e. the high
    half of row I's 128-bit sum plus the low half of row I+1's, shifted by one.
    """
    low, high = _clmul_dot(memory, seed, z, n)  # type: ignore[call-arg,var-annotated]
    for i in range(n):
        next_low, next_high = _clmul_dot(memory, seed + i + 1, z, n)
        _store_word(memory, out + i, _window(low, high, next_low))
        low, high = next_low, next_high


@numba.njit(cache=True, nogil=True)
def _hankel(memory: int, seed: int, z: int, out: int, n: int, work: int) -> None:
    """``out = H(seed) z`` for the block-Hankel matrix of 64x64-bit blocks over GF(2).

    All operands are word offsets into one buffer at address ``memory`` (so the recursion passes
    integers, not arrays): ``z`` and ``out`` have n words, ``seed`` 2n words, and ``work`` is
    scratch of at least 4n words. Block (I, K) maps ``z[K]`` (bits reversed) through the 128-bit
    seed window of words I+K and I+K+1. Above the base size the transposed Karatsuba step halves
    the problem into three Hankel products (Hanrot, Quercia, Zimmermann, AAECC 14, 415 (2004)):
    ``P = H1 (z0 + z1)``, ``y0 = P + (H0 + H1) z0``, ``y1 = P + (H2 + H1) z1``. An odd size peels
    off its last column and last row (linear work), so no size needs padding.
    """
    if n <= _KARATSUBA_BASE_WORDS:
        _hankel_direct(memory, seed, z, out, n)
        return
    if n % 2 == 1:
        m = n - 1
        _hankel(memory, seed, z, out, m, work)
        # Column m (word z[m]) into rows 0..m-1: windows of seed words m .. 2m.
        last = _load_word(memory, z + m)  # type: ignore[call-arg,var-annotated]
        low, high = _clmul(_load_word(memory, seed + m), last)
        for i in range(m):
            next_low, next_high = _clmul(_load_word(memory, seed + m + i + 1), last)
            previous = _load_word(memory, out + i)
            _store_word(memory, out + i, previous ^ _window(low, high, next_low))
            low, high = next_low, next_high
        # Row m over all of z.
        low, high = _clmul_dot(memory, seed + m, z, n)
        next_low, _ = _clmul_dot(memory, seed + m + 1, z, n)
        _store_word(memory, out + m, _window(low, high, next_low))
        return
    half = n // 2
    z_sum = work
    seed_sum = work + half
    shared = work + 3 * half
    rest = work + 4 * half
    _xor_words(memory, z_sum, z, z + half, half)  # type: ignore[call-arg]
    _hankel(memory, seed + half, z_sum, shared, half, rest)
    _xor_words(memory, seed_sum, seed, seed + half, 2 * half)
    _hankel(memory, seed_sum, z, out, half, rest)
    _xor_words(memory, seed_sum, seed + 2 * half, seed + half, 2 * half)
    _hankel(memory, seed_sum, z + half, out + half, half, rest)
    _xor_words(memory, out, out, shared, half)
    _xor_words(memory, out + half, out + half, shared, half)


@numba.njit(cache=True, nogil=True)
def _hankel_chunks(seed: WordArray, z: WordArray, size: int) -> WordArray:
    """XOR over the square column blocks c of ``H(seed[c size : (c + 2) size]) z[c size :]``.

    One buffer holds the seed, the key, the block product, the result and the scratch, so that
    the kernels address everything by word offset.
    """
    chunks = z.size // size
    key = seed.size
    part = key + z.size
    result = part + size
    work = result + size
    buffer = np.zeros(work + 4 * size, dtype=np.uint64)
    buffer[:key] = seed
    buffer[key:part] = z
    memory = buffer.ctypes.data
    for chunk in range(chunks):
        _hankel(memory, chunk * size, key + chunk * size, part, size, work)
        _xor_words(memory, result, result, part, size)  # type: ignore[call-arg]
    return buffer[result:work].copy()


def _pack_words(bits: BitArray, words: int, *, leading_zeros: int = 0) -> WordArray:
    """``bits`` after ``leading_zeros`` zero bits, packed 64 to a little-endian word, zero-padded
    (or cut) to ``words`` words."""
    padded = np.zeros(words * 64, dtype=np.uint8)
    used = min(bits.size, padded.size - leading_zeros)
    padded[leading_zeros : leading_zeros + used] = bits[:used]
    return np.packbits(padded, bitorder="little").view("<u8").astype(np.uint64)


def _toeplitz_clmul(bits: BitArray, seed: BitArray, output_bits: int) -> BitArray:
    """``y[i] = sum_k seed[i + k] z[k]`` with ``z`` the key reversed: a Hankel product, cut into
    square blocks of the output's size and run through :func:`_hankel`.

    Word K of ``z`` with its bits reversed (the order :func:`_hankel` wants) is the plain
    little-endian word ``words - 1 - K`` of the key after ``64 words - n`` leading zeros, so the
    reversal is a reversal of the word order.
    """
    n = bits.size
    key_words = -(-n // 64)
    size = -(-output_bits // 64)
    chunks = -(-key_words // size)
    z = np.zeros(chunks * size, dtype=np.uint64)
    z[:key_words] = _pack_words(bits, key_words, leading_zeros=64 * key_words - n)[::-1]
    result = _hankel_chunks(_pack_words(seed, (chunks + 1) * size), z, size)
    return np.ascontiguousarray(
        np.unpackbits(result.view(np.uint8), bitorder="little")[:output_bits]
    )


@cache
def carryless_multiply_available() -> bool:
    """Whether the carry-less path compiles here and agrees with the FFT path (itself checked
    against the explicit product in the tests) on a case that exercises the recursion, with odd
    sizes peeled at two levels (67 output words -> 66 -> 33 -> 32)."""
    if not _host_has("pclmul"):
        return False  # not x86-64 with PCLMULQDQ: LLVM could not even select the instruction
    rng = np.random.default_rng(0)
    output_bits = 64 * 67
    key = rng.integers(0, 2, 5000, dtype=np.uint8)
    seed = rng.integers(0, 2, key.size + output_bits - 1, dtype=np.uint8)
    try:
        fast = _toeplitz_clmul(key, seed, output_bits)
    except Exception:  # LLVM cannot select PCLMULQDQ on this CPU: use the FFT path.
        return False
    return bool(np.array_equal(fast, _toeplitz_fft(key, seed, output_bits)))


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
        if not carryless_multiply_available():
            raise QKDError("carry-less multiplication is not available on this CPU; use 'fft'")
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
    """The explicit GF(2) product ``T @ key``, row block by row block (O(n m) time, O(n) memory
    per 64 rows; for tests only)."""
    bits = _as_bits(key, "key").astype(np.int64)
    seed_bits = _as_bits(seed, "Toeplitz seed").astype(np.int64)
    n = bits.size
    result = np.zeros(output_bits, dtype=np.uint8)
    columns = np.arange(n).reshape(1, -1)
    for first in range(0, output_bits, 64):
        rows = np.arange(first, min(output_bits, first + 64)).reshape(-1, 1)
        matrix = seed_bits[rows - columns + n - 1]  # T[i, j] = seed[i - j + n - 1]
        product: NDArray[np.int64] = matrix @ bits
        result[first : first + rows.size] = product & 1
    return result


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
