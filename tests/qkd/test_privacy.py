"""Toeplitz hashing: the FFT product equals the explicit GF(2) product, and is linear."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qsafecity.errors import InputError, QKDError
from qsafecity.qkd import privacy
from qsafecity.qkd.privacy import (
    amplify,
    secure_output_length,
    toeplitz_hash,
    toeplitz_hash_reference,
)


def methods() -> list[str]:
    return ["fft", "clmul"] if privacy.carryless_multiply_available() else ["fft"]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), m=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
def test_both_methods_equal_explicit_gf2_product(n: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    key = rng.integers(0, 2, n, dtype=np.uint8)
    toeplitz_seed = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    expected = toeplitz_hash_reference(key, toeplitz_seed, m)
    for method in methods():
        np.testing.assert_array_equal(toeplitz_hash(key, toeplitz_seed, m, method=method), expected)


@pytest.mark.parametrize(
    ("n", "m"), [(2048, 2048), (2049, 5000), (64 * 33, 64 * 70 + 5), (9000, 1)]
)
def test_karatsuba_recursion_sizes_equal_explicit_product(n: int, m: int) -> None:
    # Sizes around the 32-word base case and unbalanced factors exercise every recursion branch.
    rng = np.random.default_rng(n + m)
    key = rng.integers(0, 2, n, dtype=np.uint8)
    s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    expected = toeplitz_hash_reference(key, s, m)
    for method in methods():
        np.testing.assert_array_equal(toeplitz_hash(key, s, m, method=method), expected)


def test_carryless_path_is_used_on_x86_64() -> None:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("PCLMULQDQ is an x86-64 instruction")
    assert privacy.carryless_multiply_available()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 300), m=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_hash_is_gf2_linear(n: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 2, (2, n), dtype=np.uint8)
    s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    np.testing.assert_array_equal(
        toeplitz_hash(x ^ y, s, m), toeplitz_hash(x, s, m) ^ toeplitz_hash(y, s, m)
    )


def test_large_input_is_exact_against_explicit_rows() -> None:
    # 10^6 -> 5*10^5 bits: check 200 random rows against the explicit product of those rows.
    rng = np.random.default_rng(99)
    n, m = 1_000_000, 500_000
    key = rng.integers(0, 2, n, dtype=np.uint8)
    s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    hashed = toeplitz_hash(key, s, m)
    np.testing.assert_array_equal(toeplitz_hash(key, s, m, method="fft"), hashed)
    rows = rng.choice(m, 200, replace=False)
    for row in rows:
        window = s[row : row + n][::-1]  # T[row, j] = s[row - j + n - 1]
        assert hashed[row] == int(np.dot(window.astype(np.int64), key)) & 1


def test_column_blocks_give_the_same_product(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    key = rng.integers(0, 2, 1000, dtype=np.uint8)
    s = rng.integers(0, 2, 1000 + 300 - 1, dtype=np.uint8)
    whole = toeplitz_hash(key, s, 300, method="fft")
    monkeypatch.setattr(privacy, "_EXACT_CHUNK_BITS", 128)
    np.testing.assert_array_equal(toeplitz_hash(key, s, 300, method="fft"), whole)
    np.testing.assert_array_equal(toeplitz_hash_reference(key, s, 300), whole)


def test_secure_output_length() -> None:
    # 1e6 sifted bits, e_ph 2 %, 150,000 bits leaked: 1e6 (1 - H2(0.02)) = 858,559.6 minus the
    # leak, minus log2(2/1e-10) + 2 log2(1/2e-10) = 34.2 + 64.4 bits.
    assert secure_output_length(1_000_000, 0.02, 150_000) == 708_460
    assert secure_output_length(1_000, 0.2, 900) == 0
    assert secure_output_length(1_000, 0.6, 0) == 0


def test_amplify_and_bad_inputs() -> None:
    rng = np.random.default_rng(3)
    key = rng.integers(0, 2, 500, dtype=np.uint8)
    final, seed = amplify(key, 200, rng)
    assert final.size == 200
    assert seed.size == 699
    with pytest.raises(InputError, match="output length"):
        amplify(key, 501, rng)
    with pytest.raises(InputError, match="seed"):
        toeplitz_hash(key, seed[:10], 200)
    with pytest.raises(InputError, match="bits"):
        toeplitz_hash(key + 3, seed, 200)


def _carryless_or_skip() -> None:
    if not privacy.carryless_multiply_available():
        pytest.skip("no carry-less multiply instruction here")


# Output word counts around the direct base (32 words), odd sizes that peel a column and a row at
# several recursion levels (33, 67, 131 = 2*65 + 1), powers of two, and bit lengths just off a word.
EDGE_OUTPUT_BITS = [
    1,
    63,
    64,
    65,
    64 * 31 + 7,
    64 * 32,
    64 * 32 + 1,
    64 * 33,
    64 * 34 - 1,
    64 * 64,
    64 * 67 + 3,
    64 * 131,
]


@pytest.mark.parametrize("m", EDGE_OUTPUT_BITS)
@pytest.mark.parametrize("n_over_m", [0.5, 1.0, 2.03, 3.5])
def test_carryless_path_equals_explicit_product_on_edge_sizes(m: int, n_over_m: float) -> None:
    _carryless_or_skip()
    rng = np.random.default_rng(m * 7 + round(n_over_m * 100))
    n = max(1, round(m * n_over_m))
    key = rng.integers(0, 2, n, dtype=np.uint8)
    s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    np.testing.assert_array_equal(
        toeplitz_hash(key, s, m, method="clmul"), toeplitz_hash_reference(key, s, m)
    )


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 20_000), m=st.integers(1, 9_000), seed=st.integers(0, 2**32 - 1))
def test_carryless_path_equals_explicit_product_on_random_sizes(n: int, m: int, seed: int) -> None:
    _carryless_or_skip()
    rng = np.random.default_rng(seed)
    key = rng.integers(0, 2, n, dtype=np.uint8)
    s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)
    np.testing.assert_array_equal(
        toeplitz_hash(key, s, m, method="clmul"), toeplitz_hash_reference(key, s, m)
    )


def test_carryless_path_with_the_128_bit_instruction_only(tmp_path: Path) -> None:
    # CPUs without VPCLMULQDQ run the 128-bit loop only; compile that variant in a fresh process
    # (the choice is made when the kernels compile, so it cannot be switched in this one).
    _carryless_or_skip()
    script = (
        "import numpy as np\n"
        "from qsafecity.qkd import privacy\n"
        "setattr(privacy, '_WIDE_CLMUL', False)\n"
        "rng = np.random.default_rng(8)\n"
        "for n, m in [(1, 1), (4000, 64 * 33 + 5), (9000, 64 * 67), (300, 2100)]:\n"
        "    key = rng.integers(0, 2, n, dtype=np.uint8)\n"
        "    s = rng.integers(0, 2, n + m - 1, dtype=np.uint8)\n"
        "    fast = privacy.toeplitz_hash(key, s, m, method='clmul')\n"
        "    assert np.array_equal(fast, privacy.toeplitz_hash_reference(key, s, m)), (n, m)\n"
        "ir = privacy._hankel_direct.inspect_llvm(privacy._hankel_direct.signatures[0])\n"
        "assert 'pclmulqdq.256' not in ir and 'pclmulqdq' in ir\n"
        "print('exact')\n"
    )
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "exact"


def test_carryless_method_without_the_instruction_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(privacy, "carryless_multiply_available", lambda: False)
    key = np.ones(100, dtype=np.uint8)
    with pytest.raises(QKDError, match="carry-less"):
        toeplitz_hash(key, np.ones(149, dtype=np.uint8), 50, method="clmul")
    np.testing.assert_array_equal(
        toeplitz_hash(key, np.ones(149, dtype=np.uint8), 50),
        toeplitz_hash_reference(key, np.ones(149, dtype=np.uint8), 50),
    )
