"""The QKD link engine: pure numerics, no I/O.

* ``physics``: link models and presets, asymptotic decoy-state BB84 key rates, PLOB bound.

Everything here takes its random generator (``numpy.random.Generator``) and parameters as
arguments; nothing reads files, the clock or the environment.
"""

from qsafecity.qkd.physics import (
    PRESETS,
    LinkParameters,
    Protocol,
    key_rate_per_pulse,
    max_distance_km,
    optimal_mu,
    plob_bound_for_link,
    plob_bound_per_pulse,
    preset,
    secret_key_rate_bps,
)

__all__ = [
    "PRESETS",
    "LinkParameters",
    "Protocol",
    "key_rate_per_pulse",
    "max_distance_km",
    "optimal_mu",
    "plob_bound_for_link",
    "plob_bound_per_pulse",
    "preset",
    "secret_key_rate_bps",
]
