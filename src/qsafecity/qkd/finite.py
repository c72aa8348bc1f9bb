"""Finite-size key length of decoy-state BB84 (Lim, Curty, Walenta, Xu, Zbinden 2014).

We implement the bounds of C. C. W. Lim, M. Curty, N. Walenta, F. Xu and H. Zbinden, "Concise
security bounds for practical decoy-state quantum key distribution", PRA 89, 022307 (2014)
(below: *Lim 2014*), for the protocol with three intensities ``mu1 > mu2 + mu3``, ``mu3 >= 0``, chosen
with probabilities ``p1, p2, p3``, and bases X (key) and Z (test) chosen with ``p_x`` and
``1 - p_x`` by Alice and Bob:

* Hoeffding-corrected counts (Lim 2014, eq. 3 context)::

      n±_{X,k} = e^{mu_k}/p_k * (n_{X,k} ± sqrt(n_X/2 * ln(21/eps_sec)))

* vacuum and single-photon detections in X (eqs. 2-3), single-photon errors in Z (eq. 4)::

      s0 >= tau0 (mu2 n-_{mu3} - mu3 n+_{mu2}) / (mu2 - mu3)
      s1 >= tau1 mu1 [n-_{mu2} - n+_{mu3} - (mu2^2 - mu3^2)/mu1^2 (n+_{mu1} - s0/tau0)]
                 / (mu1 (mu2 - mu3) - mu2^2 + mu3^2)
      v1_Z <= tau1 (m+_{Z,mu2} - m-_{Z,mu3}) / (mu2 - mu3)

  with ``tau_n = sum_k p_k e^{-mu_k} mu_k^n / n!``;
* the phase-error rate of the X single photons (eq. 5)::

      phi_X <= v1_Z/s1_Z + gamma(eps_sec, v1_Z/s1_Z, s1_Z, s1_X),
      gamma(a, b, c, d) = sqrt((c+d)(1-b) b / (c d ln 2) * log2((c+d)/(c d (1-b) b) * 21^2/a^2))

* the secret key length (eq. 1)::

      l = s0_X + s1_X (1 - H2(phi_X)) - lambda_EC - 6 log2(21/eps_sec) - log2(2/eps_cor)

As the number of pulses grows the Hoeffding terms vanish and, with ``mu3 = 0``, ``s1`` becomes the
vacuum+weak bound of Ma 2005 (eq. 34) that ``physics`` implements: the finite rate tends to the
asymptotic vacuum+weak rate with sifting factor ``p_x^2`` (a test checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from qsafecity.errors import InputError
from qsafecity.qkd.physics import (
    LinkParameters,
    binary_entropy,
    error_rate,
    gain,
    overall_transmittance,
)

#: Default security parameters: total secrecy 1e-10 and correctness 1e-15, as in Lim 2014 Fig. 1.
DEFAULT_EPSILON_SECRECY: Final = 1e-10
DEFAULT_EPSILON_CORRECTNESS: Final = 1e-15


@dataclass(frozen=True, slots=True)
class DecoySettings:
    """Alice's intensities and the probabilities of choosing them and the bases.

    ``intensities`` is (signal mu1, weak decoy mu2, vacuum-like mu3) with ``mu1 > mu2 + mu3``.
    The defaults were chosen by a grid search over mu1 in {0.4, 0.5, 0.6}, mu2 in {0.1, 0.2},
    p1 in {0.5, 0.6, 0.7}, p3 in {0.1, 0.2}, p_x in {0.7, 0.8, 0.9} maximising the finite key of
    the GYS link at 25 km for 10^9-10^10 pulses and of the metro link for 10^9 pulses.
    """

    intensities: tuple[float, float, float] = (0.4, 0.2, 0.0)
    probabilities: tuple[float, float, float] = (0.5, 0.3, 0.2)
    basis_x_probability: float = 0.8

    def __post_init__(self) -> None:
        mu1, mu2, mu3 = self.intensities
        if not (mu3 >= 0.0 and mu2 > 0.0 and mu1 > mu2 + mu3 and mu1 <= 10.0):
            raise InputError(
                "decoy intensities must satisfy mu1 > mu2 + mu3, mu2 > 0, mu3 >= 0, mu1 <= 10; "
                f"got {self.intensities}"
            )
        if any(p <= 0.0 for p in self.probabilities) or not math.isclose(
            sum(self.probabilities), 1.0, abs_tol=1e-9
        ):
            raise InputError(
                f"intensity probabilities must be positive and sum to 1, got {self.probabilities}"
            )
        if not (0.0 < self.basis_x_probability < 1.0):
            raise InputError(
                f"X-basis probability must be in (0, 1), got {self.basis_x_probability}"
            )


@dataclass(frozen=True, slots=True)
class DecoyCounts:
    """Detections and errors per intensity, in each basis (both parties in that basis)."""

    detections_x: tuple[float, float, float]
    errors_x: tuple[float, float, float]
    detections_z: tuple[float, float, float]
    errors_z: tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class FiniteKeyBounds:
    """The bounds of Lim 2014 computed from a block's counts."""

    vacuum_x: float
    single_photon_x: float
    single_photon_z: float
    single_photon_errors_z: float
    phase_error_upper: float

    @property
    def no_single_photons(self) -> bool:
        """True when the statistics cannot certify any single-photon detection."""
        return self.single_photon_x <= 0.0 or self.single_photon_z <= 0.0


def _tau(settings: DecoySettings, photons: int) -> float:
    return sum(
        p * math.exp(-mu) * mu**photons / math.factorial(photons)
        for mu, p in zip(settings.intensities, settings.probabilities, strict=True)
    )


def _gamma(a: float, b: float, c: float, d: float) -> float:
    if b <= 0.0 or b >= 1.0 or c <= 0.0 or d <= 0.0:
        return 0.0 if b <= 0.0 and c > 0.0 and d > 0.0 else math.inf
    inner = (c + d) / (c * d * (1.0 - b) * b) * 21.0**2 / a**2
    return math.sqrt((c + d) * (1.0 - b) * b / (c * d * math.log(2.0)) * math.log2(inner))


def _single_photon_bounds(
    settings: DecoySettings,
    detections: tuple[float, float, float],
    epsilon_secrecy: float,
) -> tuple[float, float]:
    """(s0, s1) lower bounds for one basis (Lim 2014 eqs. 2-3)."""
    mu1, mu2, mu3 = settings.intensities
    p1, p2, p3 = settings.probabilities
    total = sum(detections)
    delta = math.sqrt(total / 2.0 * math.log(21.0 / epsilon_secrecy))

    def minus(k: int, mu: float, p: float) -> float:
        return math.exp(mu) / p * (detections[k] - delta)

    def plus(k: int, mu: float, p: float) -> float:
        return math.exp(mu) / p * (detections[k] + delta)

    tau0 = _tau(settings, 0)
    tau1 = _tau(settings, 1)
    s0 = max(0.0, tau0 * (mu2 * minus(2, mu3, p3) - mu3 * plus(1, mu2, p2)) / (mu2 - mu3))
    s1 = (
        tau1
        * mu1
        * (
            minus(1, mu2, p2)
            - plus(2, mu3, p3)
            - (mu2**2 - mu3**2) / mu1**2 * (plus(0, mu1, p1) - s0 / tau0)
        )
        / (mu1 * (mu2 - mu3) - mu2**2 + mu3**2)
    )
    return s0, max(0.0, s1)


def finite_key_bounds(
    settings: DecoySettings,
    counts: DecoyCounts,
    epsilon_secrecy: float = DEFAULT_EPSILON_SECRECY,
) -> FiniteKeyBounds:
    """Lim 2014 eqs. 2-5 from the observed counts of a block."""
    if not (0.0 < epsilon_secrecy < 1.0):
        raise InputError(f"secrecy parameter must be in (0, 1), got {epsilon_secrecy}")
    _, mu2, mu3 = settings.intensities
    _, p2, p3 = settings.probabilities
    s0_x, s1_x = _single_photon_bounds(settings, counts.detections_x, epsilon_secrecy)
    _, s1_z = _single_photon_bounds(settings, counts.detections_z, epsilon_secrecy)
    delta_errors = math.sqrt(sum(counts.errors_z) / 2.0 * math.log(21.0 / epsilon_secrecy))
    errors_plus_2 = math.exp(mu2) / p2 * (counts.errors_z[1] + delta_errors)
    errors_minus_3 = math.exp(mu3) / p3 * (counts.errors_z[2] - delta_errors)
    v1_z = max(0.0, _tau(settings, 1) * (errors_plus_2 - errors_minus_3) / (mu2 - mu3))
    if s1_z <= 0.0 or s1_x <= 0.0:
        phase = 0.5
    else:
        ratio = min(v1_z / s1_z, 0.5)
        phase = min(0.5, ratio + _gamma(epsilon_secrecy, ratio, s1_z, s1_x))
    return FiniteKeyBounds(
        vacuum_x=s0_x,
        single_photon_x=s1_x,
        single_photon_z=s1_z,
        single_photon_errors_z=v1_z,
        phase_error_upper=phase,
    )


def secret_key_length(
    bounds: FiniteKeyBounds,
    leaked_bits: float,
    epsilon_secrecy: float = DEFAULT_EPSILON_SECRECY,
    epsilon_correctness: float = DEFAULT_EPSILON_CORRECTNESS,
) -> int:
    """Lim 2014 eq. 1: bits of secret key the block yields (never negative)."""
    if not (0.0 < epsilon_correctness < 1.0):
        raise InputError(f"correctness parameter must be in (0, 1), got {epsilon_correctness}")
    length = (
        bounds.vacuum_x
        + bounds.single_photon_x * (1.0 - float(binary_entropy(bounds.phase_error_upper)))
        - leaked_bits
        - 6.0 * math.log2(21.0 / epsilon_secrecy)
        - math.log2(2.0 / epsilon_correctness)
    )
    return max(0, math.floor(length))


def expected_counts(
    params: LinkParameters, distance_km: float, pulses: float, settings: DecoySettings
) -> DecoyCounts:
    """Expected counts of a block of ``pulses`` pulses over the link model (Lim 2014, App. A)."""
    eta = float(overall_transmittance(params, distance_km))
    p_x = settings.basis_x_probability
    detections_x = []
    errors_x = []
    detections_z = []
    errors_z = []
    for mu, p in zip(settings.intensities, settings.probabilities, strict=True):
        q = float(gain(params, eta, mu))
        e = float(error_rate(params, eta, mu))
        detections_x.append(pulses * p * p_x**2 * q)
        errors_x.append(pulses * p * p_x**2 * q * e)
        detections_z.append(pulses * p * (1.0 - p_x) ** 2 * q)
        errors_z.append(pulses * p * (1.0 - p_x) ** 2 * q * e)
    return DecoyCounts(
        detections_x=(detections_x[0], detections_x[1], detections_x[2]),
        errors_x=(errors_x[0], errors_x[1], errors_x[2]),
        detections_z=(detections_z[0], detections_z[1], detections_z[2]),
        errors_z=(errors_z[0], errors_z[1], errors_z[2]),
    )


def finite_key_rate_per_pulse(
    params: LinkParameters,
    distance_km: float,
    pulses: float,
    settings: DecoySettings | None = None,
    *,
    epsilon_secrecy: float = DEFAULT_EPSILON_SECRECY,
    epsilon_correctness: float = DEFAULT_EPSILON_CORRECTNESS,
) -> float:
    """Expected finite-size key rate (bits per pulse) for a block of ``pulses`` pulses.

    The error-correction leak is ``f * n_X * H2(E_X)`` with the link's efficiency ``f``.
    """
    if not (1.0 <= pulses <= 1e24) or not math.isfinite(pulses):
        raise InputError(f"number of pulses must be in [1, 1e24], got {pulses}")
    chosen = settings or DecoySettings()
    counts = expected_counts(params, distance_km, pulses, chosen)
    bounds = finite_key_bounds(chosen, counts, epsilon_secrecy)
    detections = sum(counts.detections_x)
    qber = sum(counts.errors_x) / detections if detections > 0 else 0.5
    leak = params.error_correction_efficiency * detections * float(binary_entropy(qber))
    length = secret_key_length(bounds, leak, epsilon_secrecy, epsilon_correctness)
    return length / pulses


def finite_key_rates(
    params: LinkParameters,
    distance_km: float,
    pulse_counts: np.typing.ArrayLike,
    settings: DecoySettings | None = None,
) -> np.typing.NDArray[np.float64]:
    """:func:`finite_key_rate_per_pulse` for several block sizes."""
    counts = np.asarray(pulse_counts, dtype=np.float64)
    return np.array(
        [finite_key_rate_per_pulse(params, distance_km, float(n), settings) for n in counts.flat]
    ).reshape(counts.shape)
