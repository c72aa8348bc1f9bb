"""The algorithm registry, re-exported: the one table of ``qsafecity.algorithms``.

The crypto layer keeps no facts of its own about algorithms; profiles name registry entries
(``Profile.PQC.spec.kem`` is ``lookup(Role.KEY_EXCHANGE, "X-Wing")``), and the policy engine and
the CBOM read the same entries.
"""

from __future__ import annotations

from qsafecity.algorithms import (
    ALGORITHMS,
    ALIASES,
    Algorithm,
    Family,
    Role,
    canonical,
    lookup,
    names,
)

__all__ = ["ALGORITHMS", "ALIASES", "Algorithm", "Family", "Role", "canonical", "lookup", "names"]
