"""A free-space downlink from a low-Earth-orbit satellite: loss against elevation, key per pass.

Geometry (circular orbit of altitude ``h`` over a spherical Earth of radius ``R``; an overhead
pass, i.e. the ground station in the orbital plane, Earth's rotation neglected):

* slant range at elevation ``e``: ``d = sqrt((R + h)^2 - R^2 cos^2 e) - R sin e`` (law of cosines
  in the Earth-centre, station, satellite triangle);
* central angle from the station's zenith to the satellite: ``phi = pi/2 - e - asin(R cos e / (R + h))``;
  the satellite moves at ``omega = sqrt(G M / (R + h)^3)``, so the pass above ``e_min`` lasts
  ``2 phi(e_min) / omega``.

Loss (the usual link budget of satellite QKD, e.g. Bourgoin et al., New J. Phys. 15, 023006
(2013), eqs. 1-4):

* geometric (diffraction) loss: the beam of full divergence ``theta`` leaving a transmitter of
  aperture ``D_t`` has diameter ``D_t + d theta`` at the ground; a receiver of aperture ``D_r``
  collects ``min(1, (D_r / (D_t + d theta))^2)``;
* atmosphere: zenith transmittance ``T0`` to the power of the air mass ``1/sin e``;
* a fixed loss for pointing, optics and coupling into the detectors.

The default numbers follow the Micius downlinks (Liao et al., "Satellite-to-ground quantum key
distribution", Nature 549, 43 (2017)): ~500 km orbit, 300 mm transmitter, 1 m receiving
telescope, a beam divergence of about 10 urad; the atmosphere and fixed loss are representative
values for a clear night at 850 nm, not fitted to that experiment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from qsafecity.errors import InputError
from qsafecity.qkd.physics import LinkParameters, Protocol, key_rate_per_pulse

EARTH_RADIUS_KM: Final = 6371.0
#: Standard gravitational parameter of the Earth, km^3/s^2 (IERS Conventions 2010).
EARTH_GM_KM3_S2: Final = 398600.4418

FloatArray = NDArray[np.float64]


#: A ground receiver for satellite downlinks at 850 nm: silicon SPADs (about 50 % efficient) behind
#: about 3 dB of receiver optics, 100 MHz decoy source on board as on Micius (Liao et al. 2017);
#: dark counts and misalignment are representative values, not the experiment's.
GROUND_RECEIVER: Final = LinkParameters(
    name="satellite-ground",
    attenuation_db_per_km=0.0,
    detector_efficiency=0.25,
    dark_count_probability=1e-6,
    misalignment_error=0.01,
    error_correction_efficiency=1.16,
    source_rate_hz=100e6,
    source="Liao et al., Nature 549, 43 (2017) (source rate); representative Si-SPAD receiver",
)


@dataclass(frozen=True, slots=True)
class SatellitePass:
    """A downlink pass and its optics; ``receiver`` gives Bob's detectors and the source."""

    receiver: LinkParameters = GROUND_RECEIVER
    altitude_km: float = 500.0
    min_elevation_deg: float = 10.0
    transmitter_aperture_m: float = 0.30
    receiver_aperture_m: float = 1.0
    beam_divergence_urad: float = 10.0
    zenith_atmospheric_loss_db: float = 3.0
    fixed_loss_db: float = 6.0

    def __post_init__(self) -> None:
        checks = [
            (160.0 <= self.altitude_km <= 40000.0, "altitude must be in [160, 40000] km"),
            (0.0 < self.min_elevation_deg < 90.0, "minimum elevation must be in (0, 90) degrees"),
            (
                0.0 < self.transmitter_aperture_m <= 10.0,
                "transmitter aperture must be in (0, 10] m",
            ),
            (0.0 < self.receiver_aperture_m <= 50.0, "receiver aperture must be in (0, 50] m"),
            (0.0 < self.beam_divergence_urad <= 1e4, "beam divergence must be in (0, 1e4] urad"),
            (0.0 <= self.zenith_atmospheric_loss_db <= 30.0, "zenith loss must be in [0, 30] dB"),
            (0.0 <= self.fixed_loss_db <= 60.0, "fixed loss must be in [0, 60] dB"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(f"satellite pass: {message}")


def slant_range_km(altitude_km: float, elevation_deg: ArrayLike) -> FloatArray:
    """Distance from the ground station to the satellite seen at ``elevation_deg``."""
    e = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    orbit = EARTH_RADIUS_KM + altitude_km
    return np.asarray(
        np.sqrt(orbit**2 - (EARTH_RADIUS_KM * np.cos(e)) ** 2) - EARTH_RADIUS_KM * np.sin(e),
        dtype=np.float64,
    )


def central_angle_rad(altitude_km: float, elevation_deg: ArrayLike) -> FloatArray:
    """Angle at the Earth's centre between the station and the satellite."""
    e = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    ratio = EARTH_RADIUS_KM * np.cos(e) / (EARTH_RADIUS_KM + altitude_km)
    return np.asarray(np.pi / 2.0 - e - np.arcsin(ratio), dtype=np.float64)


def pass_duration_s(satellite: SatellitePass) -> float:
    """Time the satellite stays above the minimum elevation on an overhead pass."""
    orbit = EARTH_RADIUS_KM + satellite.altitude_km
    omega = math.sqrt(EARTH_GM_KM3_S2 / orbit**3)
    return float(
        2.0 * central_angle_rad(satellite.altitude_km, satellite.min_elevation_deg) / omega
    )


def channel_loss_db(satellite: SatellitePass, elevation_deg: ArrayLike) -> FloatArray:
    """Loss from the satellite's output to Bob's detectors (excluding their efficiency), in dB."""
    elevation = np.asarray(elevation_deg, dtype=np.float64)
    if np.any((elevation <= 0.0) | (elevation > 90.0)) or not np.all(np.isfinite(elevation)):
        raise InputError("elevation must be in (0, 90] degrees")
    distance_m = slant_range_km(satellite.altitude_km, elevation) * 1e3
    spot_m = satellite.transmitter_aperture_m + distance_m * satellite.beam_divergence_urad * 1e-6
    collected = np.minimum(1.0, (satellite.receiver_aperture_m / spot_m) ** 2)
    air_mass = 1.0 / np.sin(np.radians(elevation))
    return np.asarray(
        -10.0 * np.log10(collected)
        + satellite.zenith_atmospheric_loss_db * air_mass
        + satellite.fixed_loss_db,
        dtype=np.float64,
    )


@dataclass(frozen=True, slots=True)
class PassKey:
    """Secret key of one pass, from the asymptotic key rate along the trajectory."""

    duration_s: float
    secret_bits: float
    min_loss_db: float
    max_loss_db: float
    times_s: FloatArray
    elevations_deg: FloatArray
    rates_bps: FloatArray


def key_per_pass(
    satellite: SatellitePass,
    protocol: Protocol | str = Protocol.VACUUM_WEAK,
    samples: int = 400,
) -> PassKey:
    """Integrate the asymptotic key rate over an overhead pass (trapezoidal rule in time).

    At each instant the link is the receiver's detectors behind ``channel_loss_db`` of loss, with
    the optimal signal intensity.
    """
    if not (10 <= samples <= 100_000):
        raise InputError("samples must be in [10, 100000]")
    orbit = EARTH_RADIUS_KM + satellite.altitude_km
    omega = math.sqrt(EARTH_GM_KM3_S2 / orbit**3)
    half = float(central_angle_rad(satellite.altitude_km, satellite.min_elevation_deg))
    angles = np.linspace(-half, half, samples)
    # Elevation from the central angle: the satellite at (orbit, angle) seen from the station.
    x = orbit * np.sin(np.abs(angles))
    y = orbit * np.cos(angles) - EARTH_RADIUS_KM
    elevations = np.degrees(np.arctan2(y, x))
    elevations = np.clip(elevations, satellite.min_elevation_deg, 90.0)
    losses = channel_loss_db(satellite, elevations)
    receiver = satellite.receiver
    # The key rate depends on the channel only through its loss, so a "fibre" of 1 dB/km whose
    # length in km is the loss in dB evaluates every instant in one vectorised call.
    as_fibre = receiver.with_changes(attenuation_db_per_km=1.0, connector_loss_db=0.0)
    rates = (
        np.asarray(key_rate_per_pulse(as_fibre, losses, protocol), dtype=np.float64)
        * receiver.source_rate_hz
    )
    times = angles / omega
    secret = float(np.sum((rates[1:] + rates[:-1]) / 2.0 * np.diff(times)))
    return PassKey(
        duration_s=float(times[-1] - times[0]),
        secret_bits=secret,
        min_loss_db=float(losses.min()),
        max_loss_db=float(losses.max()),
        times_s=times,
        elevations_deg=elevations,
        rates_bps=rates,
    )
