"""``python -m benchmarks``: run every benchmark (``make bench``)."""

from __future__ import annotations

from benchmarks import kme_pairs

if __name__ == "__main__":
    kme_pairs.main()
