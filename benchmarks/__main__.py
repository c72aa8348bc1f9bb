"""Run every benchmark module of this package that defines ``main()`` (``make bench``)."""

from __future__ import annotations

import importlib
import pkgutil

import benchmarks


def run_all() -> None:
    for module in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        loaded = importlib.import_module(f"benchmarks.{module.name}")
        entry = getattr(loaded, "main", None)
        if callable(entry):
            print(f"## {module.name}")
            entry([])


if __name__ == "__main__":
    run_all()
