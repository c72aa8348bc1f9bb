"""Cascade speed and efficiency against cascade-cpp, cascade-python and SeQUeNCe, same run.

The peers are not part of this repository. Point the benchmark at them (see docs/benchmarks.md),
by option or by the environment variables QSAFECITY_PEER_CASCADE_CPP,
QSAFECITY_PEER_CASCADE_PYTHON and QSAFECITY_PEER_SEQUENCE:

* ``--cascade-cpp BINARY``: a driver linked against cascade-cpp's sources that takes
  ``ALGORITHM N QBER RUNS`` and prints one JSON object per run with ``seconds`` (the time of
  ``Reconciliation::reconcile`` alone), ``leaked`` (``ask_parity_blocks``) and ``residual``;
* ``--cascade-python DIR``: a checkout of cascade-python (imported from there);
* ``--sequence COMMAND``: a command (run through ``shlex.split``, typically the Python of a venv
  holding the PyPI package ``sequence`` and a harness script) that takes ``N QBER RUNS SEED`` and
  prints one JSON object per run with ``seconds_without_log`` (SeQUeNCe's Cascade on one frame of N
  bits), ``leaked`` (every parity disclosed, one per bisection step) and ``residual``. SeQUeNCe has
  one schedule (4 passes, block sizes doubling, like the original), so it is compared with both of
  ours.

Keys have exactly ``round(Q n)`` errors for every implementation, so f_EC is comparable. Runs are
interleaved (ours, then each peer, repeatedly) and medians are reported, since the machine is
shared. The last lines print the goals of issue 4 at 10^5 and 10^6 bits with their ratios.

    python -m benchmarks.bench_qkd_cascade --cascade-cpp /tmp/peers/driver/cascade_cpp_bench \\
        --cascade-python /tmp/peers/cascade-python \\
        --sequence "/tmp/peers/sequence-venv/bin/python /tmp/peers/driver/sequence_cascade_bench.py"
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from qsafecity.qkd.cascade import CascadeVariant, reconcile

QBER = 0.02


def _h2(p: float) -> float:
    return -p * math.log2(p) - (1 - p) * math.log2(1 - p)


def ours(size: int, variant: str, seed: int) -> tuple[float, float, bool]:
    rng = np.random.default_rng(seed)
    alice = rng.integers(0, 2, size, dtype=np.uint8)
    errors = np.zeros(size, dtype=np.uint8)
    errors[rng.choice(size, round(QBER * size), replace=False)] = 1
    bob = alice ^ errors
    start = time.perf_counter()
    result = reconcile(alice, bob, QBER, rng, CascadeVariant(variant))
    elapsed = time.perf_counter() - start
    return elapsed, result.efficiency(QBER), bool(np.array_equal(result.corrected_key, alice))


def cascade_cpp(binary: str, size: int, variant: str) -> tuple[float, float, bool]:
    output = subprocess.run(
        [binary, variant, str(size), str(QBER), "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    record = json.loads(output.strip().splitlines()[-1])
    return (
        float(record["seconds"]),
        record["leaked"] / (size * _h2(QBER)),
        record["residual"] == 0,
    )


def cascade_python(directory: str, size: int, variant: str, seed: int) -> tuple[float, float, bool]:
    if directory not in sys.path:
        sys.path.insert(0, directory)
    from cascade.key import Key  # type: ignore[import-not-found]
    from cascade.mock_classical_channel import (  # type: ignore[import-not-found]
        MockClassicalChannel,
    )
    from cascade.reconciliation import Reconciliation  # type: ignore[import-not-found]

    Key.set_random_seed(seed)
    correct = Key.create_random_key(size)
    noisy = correct.copy(QBER, Key.ERROR_METHOD_EXACT)
    channel = MockClassicalChannel(correct)
    reconciliation = Reconciliation(variant, channel, noisy, QBER)
    start = time.perf_counter()
    reconciled = reconciliation.reconcile()
    elapsed = time.perf_counter() - start
    leaked = reconciliation.stats.ask_parity_blocks
    return elapsed, leaked / (size * _h2(QBER)), correct.difference(reconciled) == 0


def sequence(command: str, size: int, seed: int) -> tuple[float, float, bool]:
    output = subprocess.run(
        [*shlex.split(command), str(size), str(QBER), "1", str(seed)],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    ).stdout
    record = json.loads(output.strip().splitlines()[-1])
    return (
        float(record["seconds_without_log"]),
        record["leaked"] / (size * _h2(QBER)),
        record["residual"] == 0,
    )


#: Issue 4: at least this many times faster than each peer, at the same or better f_EC.
GOALS = {"cascade-python": 100.0, "SeQUeNCe": 100.0, "cascade-cpp": 1.0}


def print_goals(rows: list[dict[str, Any]]) -> None:
    """One line per (size, variant, peer) at 10^5 and 10^6 bits: the ratio against the goal."""
    ours = {(r["bits"], r["variant"]): r for r in rows if r["implementation"] == "qsafecity"}
    print("\ngoals of issue 4 (QBER 2 %): peer time / ours, f_EC ours vs peer", flush=True)
    for row in rows:
        name = row["implementation"]
        if name not in GOALS or row["bits"] < 100_000:
            continue
        mine = ours[(row["bits"], row["variant"])]
        ratio = row["peer_time_over_ours"]
        met = ratio >= GOALS[name] and mine["f_ec"] <= row["f_ec"] and mine["all_equal"]
        print(
            f"  {row['variant']:8s} n={row['bits']:>8d} vs {name:15s} {ratio:8.1f}x "
            f"(goal >= {GOALS[name]:g}x), f_EC {mine['f_ec']:.4f} vs {row['f_ec']:.4f}: "
            f"{'met' if met else 'NOT met'}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Defaults from the environment so that ``make bench`` can reach peers installed outside.
    parser.add_argument("--cascade-cpp", default=os.environ.get("QSAFECITY_PEER_CASCADE_CPP"))
    parser.add_argument("--cascade-python", default=os.environ.get("QSAFECITY_PEER_CASCADE_PYTHON"))
    parser.add_argument("--sequence", default=os.environ.get("QSAFECITY_PEER_SEQUENCE"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--python-max-bits",
        type=int,
        default=1_000_000,
        help="Largest key given to cascade-python (10^6 takes a minute or more per run).",
    )
    parser.add_argument(
        "--sequence-max-bits",
        type=int,
        default=1_000_000,
        help="Largest key given to SeQUeNCe (one run per size; 10^6 takes many minutes).",
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    ours(10_000, "biconf", 0)  # compile the numba kernels outside the measurement
    rows: list[dict[str, Any]] = []
    for size in sizes:
        # SeQUeNCe has a single schedule: one run per size, compared with both of our variants.
        sequence_runs = []
        if args.sequence and size <= args.sequence_max_bits:
            sequence_runs.append(sequence(args.sequence, size, 0))
        for variant in ("original", "biconf"):
            measured: dict[str, list[tuple[float, float, bool]]] = {"qsafecity": []}
            for repeat in range(args.repeats):
                measured["qsafecity"].append(ours(size, variant, repeat))
                if args.cascade_cpp and Path(args.cascade_cpp).exists():
                    measured.setdefault("cascade-cpp", []).append(
                        cascade_cpp(args.cascade_cpp, size, variant)
                    )
                # cascade-python takes seconds per 10^5 bits: twice per size, once at 10^6.
                python_runs = 1 if size > 100_000 else 2
                if args.cascade_python and size <= args.python_max_bits and repeat < python_runs:
                    measured.setdefault("cascade-python", []).append(
                        cascade_python(args.cascade_python, size, variant, repeat)
                    )
            if sequence_runs:
                measured["SeQUeNCe"] = sequence_runs
            base = statistics.median(t for t, _, _ in measured["qsafecity"])
            for name, runs in measured.items():
                seconds = statistics.median(t for t, _, _ in runs)
                row = {
                    "implementation": name,
                    "variant": variant,
                    "bits": size,
                    "median_s": seconds,
                    "f_ec": statistics.mean(f for _, f, _ in runs),
                    "all_equal": all(ok for _, _, ok in runs),
                    "runs": len(runs),
                    "peer_time_over_ours": seconds / base,
                }
                rows.append(row)
                print(
                    f"{name:15s} {variant:8s} n={size:>8d} median {seconds * 1e3:9.2f} ms "
                    f"f_EC {row['f_ec']:.4f} equal={row['all_equal']} "
                    f"time/ours {row['peer_time_over_ours']:.2f}",
                    flush=True,
                )
    print_goals(rows)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
