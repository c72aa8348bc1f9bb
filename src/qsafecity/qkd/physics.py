"""Link physics and asymptotic key rates of decoy-state BB84 (pure numerics, vectorised).

The model is the standard one of Ma, Qi, Zhao and Lo, "Practical decoy state for quantum key
distribution", PRA 72, 012326 (2005) (below: *Ma 2005*), with the GLLP security analysis (Gottesman,
Lo, Lütkenhaus, Preskill, QIC 4, 325 (2004)) and the decoy idea of Lo, Ma and Chen, PRL 94, 230504
(2005). Every function takes distances as a float or a numpy array and returns the same shape.

Channel and detection (Ma 2005, eqs. 1-4)::

    eta   = eta_Bob * 10^(-(alpha*L + connector_loss_dB)/10)      overall transmittance
    Y_n   = Y0 + 1 - (1 - eta)^n                                   yield of an n-photon state
    Q_mu  = Y0 + 1 - exp(-eta*mu)                                  gain of signal states
    E_mu  = (Y0/2 + e_d*(1 - exp(-eta*mu))) / Q_mu                 QBER of signal states
    Y1    = Y0 + eta - Y0*eta,   e1 = (Y0/2 + e_d*eta) / Y1        single photons
    Q1    = Y1*mu*exp(-mu)

Key rate per pulse (GLLP; Ma 2005 eq. 5)::

    R = q * ( Q1*(1 - H2(e1)) - Q_mu*f*H2(E_mu) )

* infinite decoy: Y1 and e1 exactly as above;
* vacuum + weak decoy: Y1 and e1 replaced by the bounds of Ma 2005 eqs. 34-35, computed from the
  gains and QBERs of the signal (mu), weak decoy (nu) and vacuum;
* no decoy (GLLP): every multi-photon pulse is assumed detected and tagged, so
  ``Delta = P_multi/Q_mu`` with ``P_multi = 1 - (1 + mu)*exp(-mu)`` and
  ``R = q*(Q_mu*(1 - Delta)*(1 - H2(E_mu/(1 - Delta))) - Q_mu*f*H2(E_mu))`` (GLLP; Ma 2005 eq. 6).

The repeaterless bound (Pirandola, Laurenza, Ottaviani, Banchi, "Fundamental limits of repeaterless
quantum communications", Nat. Commun. 8, 15043 (2017), the PLOB bound) limits any point-to-point
protocol over a pure-loss channel of transmittance ``eta`` to ``-log2(1 - eta)`` secret bits per
channel use.

Units are in names: ``distance_km``, ``attenuation_db_per_km``, ``source_rate_hz``, ``dead_time_s``.
A "pulse" is one channel use (one prepared optical pulse).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Final, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsafecity.errors import InputError

FloatArray = NDArray[np.float64]


class Protocol(StrEnum):
    """How the single-photon yield and error are known to Alice and Bob."""

    INFINITE_DECOY = "infinite-decoy"
    VACUUM_WEAK = "vacuum-weak"
    NO_DECOY = "no-decoy"


@dataclass(frozen=True, slots=True)
class LinkParameters:
    """A fibre QKD link: the channel, Bob's detectors, Alice's source and the post-processing.

    Attributes
    ----------
    name:
        Short identifier (the preset name).
    attenuation_db_per_km:
        Fibre loss ``alpha``.
    detector_efficiency:
        ``eta_Bob``: detection efficiency times the transmittance of Bob's optics, in (0, 1].
    dark_count_probability:
        ``Y0``: probability of a detection event per pulse with no signal (dark counts and
        after-pulses of all detectors together), in [0, 0.5).
    misalignment_error:
        ``e_d``: probability that a photon hits the wrong detector, in [0, 0.5).
    error_correction_efficiency:
        ``f``: disclosed bits per Shannon limit ``H2(E)``, >= 1.
    source_rate_hz:
        Pulses per second prepared by Alice.
    connector_loss_db:
        Fixed loss of connectors, splices and patch panels on top of the fibre, in dB.
    dead_time_s:
        Dead time of Bob's detectors after a click (non-paralysable), in seconds.
    sifting_factor:
        ``q``: fraction of detected pulses whose bases agree and enter the key (1/2 for BB84 with
        uniform bases; close to 1 for efficient BB84 with biased bases).
    source:
        Where the numbers come from.
    """

    name: str
    attenuation_db_per_km: float
    detector_efficiency: float
    dark_count_probability: float
    misalignment_error: float
    error_correction_efficiency: float
    source_rate_hz: float
    connector_loss_db: float = 0.0
    dead_time_s: float = 0.0
    sifting_factor: float = 0.5
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (
                0.0 <= self.attenuation_db_per_km <= 10.0,
                f"fibre attenuation must be in [0, 10] dB/km, got {self.attenuation_db_per_km}",
            ),
            (
                0.0 < self.detector_efficiency <= 1.0,
                f"detector efficiency must be in (0, 1], got {self.detector_efficiency}",
            ),
            (
                0.0 <= self.dark_count_probability < 0.5,
                "dark count probability per pulse must be in [0, 0.5), "
                f"got {self.dark_count_probability}",
            ),
            (
                0.0 <= self.misalignment_error < 0.5,
                f"misalignment error must be in [0, 0.5), got {self.misalignment_error}",
            ),
            (
                1.0 <= self.error_correction_efficiency <= 10.0,
                "error-correction efficiency f must be in [1, 10], "
                f"got {self.error_correction_efficiency}",
            ),
            (
                0.0 < self.source_rate_hz <= 1e12,
                f"source rate must be in (0, 1e12] Hz, got {self.source_rate_hz}",
            ),
            (
                0.0 <= self.connector_loss_db <= 100.0,
                f"connector loss must be in [0, 100] dB, got {self.connector_loss_db}",
            ),
            (
                0.0 <= self.dead_time_s <= 1.0,
                f"dead time must be in [0, 1] s, got {self.dead_time_s}",
            ),
            (
                0.0 < self.sifting_factor <= 1.0,
                f"sifting factor must be in (0, 1], got {self.sifting_factor}",
            ),
        ]
        for ok, message in checks:
            # ``not ok`` also catches NaN, for which every comparison is False.
            if not ok:
                raise InputError(f"link {self.name!r}: {message}")

    def with_changes(self, **changes: float | str) -> LinkParameters:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]


#: GYS: the experiment of Gobby, Yuan and Shields, APL 84, 3762 (2004), as parameterised in
#: Ma 2005 (Table I) and REFERENCE.md §5. Its 2 MHz source rate is that of the GYS experiment.
GYS: Final = LinkParameters(
    name="gys",
    attenuation_db_per_km=0.21,
    detector_efficiency=0.045,
    dark_count_probability=1.7e-6,
    misalignment_error=0.033,
    error_correction_efficiency=1.22,
    source_rate_hz=2e6,
    source=(
        "Gobby, Yuan, Shields, APL 84, 3762 (2004); parameters as in Ma, Qi, Zhao, Lo, "
        "PRA 72, 012326 (2005), Table I"
    ),
)

#: A modern metro link: a 1 GHz efficient-BB84 system with self-differencing InGaAs detectors,
#: after Yuan et al., "10-Mb/s quantum key distribution", J. Lightwave Technol. 36, 3427 (2018)
#: (13.7 Mbit/s over a 2 dB channel, 304 kbit/s at 14.5 dB). Detector efficiency, dark counts and
#: misalignment are representative of that class of system; the asymptotic model with these values
#: lands within a factor 2 of both published operating points (checked by a test), the remainder
#: being finite-size and detector saturation effects the asymptotic model leaves out.
METRO: Final = LinkParameters(
    name="metro",
    attenuation_db_per_km=0.20,
    detector_efficiency=0.10,
    dark_count_probability=1e-5,
    misalignment_error=0.025,
    error_correction_efficiency=1.10,
    source_rate_hz=1e9,
    connector_loss_db=0.0,
    dead_time_s=0.0,
    sifting_factor=0.9,
    source=(
        "Yuan et al., J. Lightwave Technol. 36, 3427 (2018): 1 GHz clock, efficient BB84 "
        "(biased bases), self-differencing InGaAs APDs; eta_Bob 0.1 = detector efficiency x Bob's "
        "optics, Y0 and e_d representative of such systems"
    ),
)

#: A long-haul backbone link between trusted nodes (about 70 km spans, as in the Beijing-Shanghai
#: backbone, Chen et al., Nature 589, 214 (2021)) with commercial gated InGaAs detectors. Such spans
#: give 8-25 kbit/s (REFERENCE.md §5); this preset gives a rate in that range at 70 km (tested).
BACKBONE: Final = LinkParameters(
    name="backbone",
    attenuation_db_per_km=0.20,
    detector_efficiency=0.10,
    dark_count_probability=1e-6,
    misalignment_error=0.015,
    error_correction_efficiency=1.16,
    source_rate_hz=100e6,
    connector_loss_db=3.0,
    dead_time_s=1e-6,
    sifting_factor=0.5,
    source=(
        "trusted-node backbone spans of ~70 km (Chen et al., Nature 589, 214 (2021)); "
        "commercial 100 MHz decoy-BB84 devices with gated InGaAs APDs (10 % efficiency, 1 us dead "
        "time), 3 dB of patch panels and splices at the trusted nodes"
    ),
)

#: The named presets, by name.
PRESETS: Final[Mapping[str, LinkParameters]] = MappingProxyType(
    {preset.name: preset for preset in (GYS, METRO, BACKBONE)}
)

#: Default weak-decoy intensity of the vacuum+weak protocol (Ma 2005 uses nu = 0.05 for GYS).
DEFAULT_DECOY_INTENSITY: Final = 0.05

# Bounds of the search for the optimal signal intensity. Above 2 photons per pulse multi-photon
# emission makes every protocol lose; below 1e-4 no rate survives the dark counts.
_MU_MIN: Final = 1e-4
_MU_MAX: Final = 2.0


def preset(name: str) -> LinkParameters:
    """The preset called ``name``; an ``InputError`` listing the presets otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise InputError(f"unknown link preset {name!r}; known presets: {known}") from None


def binary_entropy(p: ArrayLike) -> FloatArray:
    """``H2(p) = -p log2 p - (1-p) log2(1-p)``, with ``H2(0) = H2(1) = 0``; vectorised."""
    x = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -x * np.log2(x) - (1.0 - x) * np.log2(1.0 - x)
    return np.where((x <= 0.0) | (x >= 1.0), 0.0, h)


def _distances(distance_km: ArrayLike) -> FloatArray:
    distances = np.asarray(distance_km, dtype=np.float64)
    if not np.all(np.isfinite(distances)):
        raise InputError("distance must be a finite number of kilometres")
    if np.any(distances < 0.0):
        raise InputError(f"distance must be >= 0 km, got {float(np.min(distances))}")
    return distances


def channel_transmittance(params: LinkParameters, distance_km: ArrayLike) -> FloatArray:
    """Transmittance of the fibre and connectors alone (no detector), in (0, 1]."""
    distances = _distances(distance_km)
    loss_db = params.attenuation_db_per_km * distances + params.connector_loss_db
    return np.asarray(10.0 ** (-loss_db / 10.0), dtype=np.float64)


def overall_transmittance(params: LinkParameters, distance_km: ArrayLike) -> FloatArray:
    """``eta = eta_Bob * 10^(-(alpha L + connector loss)/10)`` (Ma 2005 eq. 1)."""
    return params.detector_efficiency * channel_transmittance(params, distance_km)


def gain(params: LinkParameters, eta: ArrayLike, intensity: ArrayLike) -> FloatArray:
    """``Q = Y0 + 1 - exp(-eta*intensity)``: detection probability per pulse (Ma 2005 eq. 3)."""
    eta_a = np.asarray(eta, dtype=np.float64)
    q = params.dark_count_probability + 1.0 - np.exp(-eta_a * np.asarray(intensity))
    return np.asarray(q, dtype=np.float64)


def error_rate(params: LinkParameters, eta: ArrayLike, intensity: ArrayLike) -> FloatArray:
    """``E = (Y0/2 + e_d (1 - exp(-eta*intensity))) / Q``: QBER (Ma 2005 eq. 4)."""
    eta_a = np.asarray(eta, dtype=np.float64)
    signal = 1.0 - np.exp(-eta_a * np.asarray(intensity))
    q = params.dark_count_probability + signal
    numerator = params.dark_count_probability / 2.0 + params.misalignment_error * signal
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(q > 0.0, numerator / q, 0.0)


def _rate_at(
    params: LinkParameters,
    eta: FloatArray,
    mu: FloatArray,
    protocol: Protocol,
    nu: float,
) -> FloatArray:
    """Key rate per pulse for transmittance ``eta`` and signal intensity ``mu`` (broadcast)."""
    y0 = params.dark_count_probability
    f = params.error_correction_efficiency
    q_mu = gain(params, eta, mu)
    e_mu = error_rate(params, eta, mu)
    leak = q_mu * f * binary_entropy(e_mu)
    if protocol is Protocol.INFINITE_DECOY:
        y1 = y0 + eta - y0 * eta
        e1 = (y0 / 2.0 + params.misalignment_error * eta) / y1
        q1 = y1 * mu * np.exp(-mu)
        rate = q1 * (1.0 - binary_entropy(e1)) - leak
    elif protocol is Protocol.VACUUM_WEAK:
        # Ma 2005 eqs. 34-35: lower bound on Y1 and upper bound on e1 from the vacuum and the weak
        # decoy nu. Only meaningful for mu > nu (the weak decoy must be weaker than the signal).
        q_nu = gain(params, eta, nu)
        e_nu = error_rate(params, eta, nu)
        with np.errstate(divide="ignore", invalid="ignore"):
            y1_lower = (mu / (mu * nu - nu**2)) * (
                q_nu * math.exp(nu)
                - q_mu * np.exp(mu) * nu**2 / mu**2
                - (mu**2 - nu**2) / mu**2 * y0
            )
            e1_upper = (e_nu * q_nu * math.exp(nu) - y0 / 2.0) / (y1_lower * nu)
        valid = (mu > nu) & (y1_lower > 0.0)
        e1_upper = np.where(valid, np.clip(e1_upper, 0.0, 0.5), 0.5)
        q1 = np.where(valid, y1_lower, 0.0) * mu * np.exp(-mu)
        rate = q1 * (1.0 - binary_entropy(e1_upper)) - leak
    else:
        # GLLP without decoys: all multi-photon pulses may be tagged by Eve (Ma 2005 eq. 6).
        p_multi = 1.0 - (1.0 + mu) * np.exp(-mu)
        with np.errstate(divide="ignore", invalid="ignore"):
            delta = p_multi / q_mu
            untagged = np.clip(1.0 - delta, 0.0, 1.0)
            e_single = np.where(untagged > 0.0, e_mu / untagged, 0.5)
        rate = q_mu * untagged * (1.0 - binary_entropy(np.clip(e_single, 0.0, 0.5))) - leak
    return np.asarray(np.maximum(params.sifting_factor * rate, 0.0), dtype=np.float64)


def _optimal_mu_for_eta(
    params: LinkParameters, eta: FloatArray, protocol: Protocol, nu: float
) -> FloatArray:
    """Signal intensity maximising the rate at each ``eta``: grid, then golden-section refinement.

    The rate is unimodal in mu for these protocols (rising with the single-photon share, falling
    once multi-photon pulses dominate), so a log grid brackets the maximum and 60 golden-section
    steps (each shrinking the bracket by 0.618) pin it far below any printed digit.
    """
    low_mu = max(_MU_MIN, nu * 1.0001) if protocol is Protocol.VACUUM_WEAK else _MU_MIN
    grid = np.geomspace(low_mu, _MU_MAX, 160)
    flat = eta.reshape(-1, 1)
    rates = _rate_at(params, flat, grid.reshape(1, -1), protocol, nu)
    best = np.argmax(rates, axis=1)
    lo = grid[np.maximum(best - 1, 0)]
    hi = grid[np.minimum(best + 1, grid.size - 1)]
    column = flat[:, 0]
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(60):
        a = hi - ratio * (hi - lo)
        b = lo + ratio * (hi - lo)
        ra = _rate_at(params, column, a, protocol, nu)
        rb = _rate_at(params, column, b, protocol, nu)
        keep_left = ra >= rb
        hi = np.where(keep_left, b, hi)
        lo = np.where(keep_left, lo, a)
    mu = (lo + hi) / 2.0
    # Where no intensity gives a key the optimum is undefined; report the grid's best guess.
    no_key = rates[np.arange(rates.shape[0]), best] <= 0.0
    mu = np.where(no_key, grid[best], mu)
    return np.asarray(mu, dtype=np.float64).reshape(eta.shape)


def _protocol(protocol: Protocol | str) -> Protocol:
    try:
        return Protocol(protocol)
    except ValueError:
        known = ", ".join(p.value for p in Protocol)
        raise InputError(f"unknown protocol {protocol!r}; known: {known}") from None


def _check_intensities(protocol: Protocol, mu: float | None, nu: float) -> None:
    if mu is not None and not (0.0 < mu <= 10.0):
        raise InputError(f"signal intensity mu must be in (0, 10] photons per pulse, got {mu}")
    if protocol is Protocol.VACUUM_WEAK:
        if not (0.0 < nu < 1.0):
            raise InputError(f"decoy intensity nu must be in (0, 1), got {nu}")
        if mu is not None and not mu > nu:
            raise InputError(
                f"signal intensity mu ({mu}) must exceed the decoy intensity nu ({nu})"
            )


@overload
def optimal_mu(
    params: LinkParameters,
    distance_km: float,
    protocol: Protocol | str = ...,
    nu: float = ...,
) -> float: ...
@overload
def optimal_mu(
    params: LinkParameters,
    distance_km: FloatArray,
    protocol: Protocol | str = ...,
    nu: float = ...,
) -> FloatArray: ...
def optimal_mu(
    params: LinkParameters,
    distance_km: float | FloatArray,
    protocol: Protocol | str = Protocol.INFINITE_DECOY,
    nu: float = DEFAULT_DECOY_INTENSITY,
) -> float | FloatArray:
    """The signal intensity (mean photon number) that maximises the key rate at each distance."""
    chosen = _protocol(protocol)
    _check_intensities(chosen, None, nu)
    eta = np.atleast_1d(overall_transmittance(params, distance_km))
    mu = _optimal_mu_for_eta(params, eta, chosen, nu)
    return float(mu[0]) if np.ndim(distance_km) == 0 else mu


@overload
def key_rate_per_pulse(
    params: LinkParameters,
    distance_km: float,
    protocol: Protocol | str = ...,
    mu: float | None = ...,
    nu: float = ...,
) -> float: ...
@overload
def key_rate_per_pulse(
    params: LinkParameters,
    distance_km: FloatArray,
    protocol: Protocol | str = ...,
    mu: float | None = ...,
    nu: float = ...,
) -> FloatArray: ...
def key_rate_per_pulse(
    params: LinkParameters,
    distance_km: float | FloatArray,
    protocol: Protocol | str = Protocol.INFINITE_DECOY,
    mu: float | None = None,
    nu: float = DEFAULT_DECOY_INTENSITY,
) -> float | FloatArray:
    """Asymptotic secret key rate in bits per pulse (never negative).

    Parameters
    ----------
    params:
        The link.
    distance_km:
        Fibre length(s); a float gives a float, an array an array of the same shape.
    protocol:
        ``infinite-decoy``, ``vacuum-weak`` or ``no-decoy``.
    mu:
        Signal intensity; ``None`` uses the optimum at each distance.
    nu:
        Weak decoy intensity (vacuum+weak only).

    Examples
    --------
    >>> round(key_rate_per_pulse(GYS, 50.0, mu=0.48) / 2.2260e-4, 3)
    1.0
    """
    chosen = _protocol(protocol)
    _check_intensities(chosen, mu, nu)
    eta = overall_transmittance(params, distance_km)
    mus = _optimal_mu_for_eta(params, np.atleast_1d(eta), chosen, nu) if mu is None else mu
    rate = _rate_at(params, np.atleast_1d(eta), np.asarray(mus, dtype=np.float64), chosen, nu)
    return float(rate[0]) if np.ndim(distance_km) == 0 else rate.reshape(np.shape(eta))


def detection_rate_hz(params: LinkParameters, distance_km: ArrayLike, mu: ArrayLike) -> FloatArray:
    """Clicks per second at Bob before dead time: source rate times the gain ``Q_mu``."""
    eta = overall_transmittance(params, distance_km)
    return params.source_rate_hz * gain(params, eta, mu)


def dead_time_factor(params: LinkParameters, distance_km: ArrayLike, mu: ArrayLike) -> FloatArray:
    """Fraction of clicks kept by non-paralysable detectors of dead time tau: ``1/(1 + D tau)``.

    With ``D`` detections per second a non-paralysable detector is blind a fraction ``D tau`` of
    the time it would otherwise be live, so the registered rate is ``D/(1 + D tau)`` (Knoll,
    *Radiation Detection and Measurement*, 4th ed., eq. 4-6 solved for the true rate). The key rate
    scales by the same factor.
    """
    clicks = detection_rate_hz(params, distance_km, mu)
    return np.asarray(1.0 / (1.0 + clicks * params.dead_time_s), dtype=np.float64)


@overload
def secret_key_rate_bps(
    params: LinkParameters,
    distance_km: float,
    protocol: Protocol | str = ...,
    mu: float | None = ...,
    nu: float = ...,
) -> float: ...
@overload
def secret_key_rate_bps(
    params: LinkParameters,
    distance_km: FloatArray,
    protocol: Protocol | str = ...,
    mu: float | None = ...,
    nu: float = ...,
) -> FloatArray: ...
def secret_key_rate_bps(
    params: LinkParameters,
    distance_km: float | FloatArray,
    protocol: Protocol | str = Protocol.INFINITE_DECOY,
    mu: float | None = None,
    nu: float = DEFAULT_DECOY_INTENSITY,
) -> float | FloatArray:
    """Asymptotic secret key rate in bit/s: rate per pulse x source rate x dead-time factor."""
    chosen = _protocol(protocol)
    _check_intensities(chosen, mu, nu)
    distances = np.atleast_1d(_distances(distance_km))
    eta = overall_transmittance(params, distances)
    mus = _optimal_mu_for_eta(params, eta, chosen, nu) if mu is None else np.full_like(eta, mu)
    per_pulse = _rate_at(params, eta, mus, chosen, nu)
    bps = per_pulse * params.source_rate_hz * dead_time_factor(params, distances, mus)
    return float(bps[0]) if np.ndim(distance_km) == 0 else bps.reshape(np.shape(distance_km))


def plob_bound_per_pulse(transmittance: ArrayLike) -> FloatArray:
    """PLOB bound ``-log2(1 - eta)`` secret bits per channel use (Pirandola et al. 2017, eq. 5).

    Infinite for a lossless channel (``eta = 1``).
    """
    eta = np.asarray(transmittance, dtype=np.float64)
    if np.any((eta < 0.0) | (eta > 1.0)) or not np.all(np.isfinite(eta)):
        raise InputError("transmittance must be in [0, 1]")
    with np.errstate(divide="ignore"):
        return np.asarray(-np.log2(1.0 - eta), dtype=np.float64)


def plob_bound_for_link(params: LinkParameters, distance_km: ArrayLike) -> FloatArray:
    """PLOB bound of the link's channel (fibre and connectors; Bob's detector is in his lab)."""
    return plob_bound_per_pulse(channel_transmittance(params, distance_km))


def max_distance_km(
    params: LinkParameters,
    protocol: Protocol | str = Protocol.INFINITE_DECOY,
    mu: float | None = None,
    nu: float = DEFAULT_DECOY_INTENSITY,
    *,
    tolerance_km: float = 1e-6,
) -> float:
    """The longest fibre over which the protocol still yields a positive key (bisection).

    Uses the optimal intensity at each distance when ``mu`` is ``None``. Returns 0 when no key is
    possible even at 0 km.
    """
    chosen = _protocol(protocol)
    _check_intensities(chosen, mu, nu)

    def positive(distance: float) -> bool:
        return key_rate_per_pulse(params, distance, chosen, mu, nu) > 0.0

    if not positive(0.0):
        return 0.0
    low, high = 0.0, 50.0
    while positive(high):
        low, high = high, high * 2.0
        if high > 1e5:
            return math.inf
    while high - low > tolerance_km:
        middle = (low + high) / 2.0
        if positive(middle):
            low = middle
        else:
            high = middle
    return low
