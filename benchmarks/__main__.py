"""Run every benchmark module in this folder (``make bench``)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    folder = Path(__file__).parent
    for module in sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    ):
        print(f"== benchmarks.{module}", flush=True)
        importlib.import_module(f"benchmarks.{module}").main()
    sys.exit(0)


if __name__ == "__main__":
    main()
