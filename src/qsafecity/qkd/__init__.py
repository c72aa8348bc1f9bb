"""The QKD link engine: pure numerics, no I/O.

From a photon to a key (see ``docs/qkd.md``):

* ``physics``: fibre link models and presets, asymptotic decoy-state BB84 key rates, optimal
  intensity, maximum distance, the PLOB bound;
* ``satellite``: a free-space downlink from a low-Earth-orbit satellite, loss and key per pass;
* ``finite``: finite-size key length (Lim et al. 2014);
* ``bb84``: Monte-Carlo decoy BB84 over a link, with eavesdroppers;
* ``cascade``: Cascade reconciliation (original and BICONF) and the verification hash;
* ``privacy``: exact Toeplitz hashing and the secure output length;
* ``authentication``: what authenticating the classical channel costs;
* ``link``: ``run_link``, the pipeline with a report of every stage.

Everything here takes its random generator (``numpy.random.Generator``) and parameters as
arguments; nothing reads files, the clock or the environment.
"""

from qsafecity.qkd.link import LinkReport, run_link
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
    "LinkReport",
    "Protocol",
    "key_rate_per_pulse",
    "max_distance_km",
    "optimal_mu",
    "plob_bound_for_link",
    "plob_bound_per_pulse",
    "preset",
    "run_link",
    "secret_key_rate_bps",
]
