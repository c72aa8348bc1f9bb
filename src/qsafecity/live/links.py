"""QKD links at run time: key generation at the link engine's rate, QBER estimation, aborts.

Each QKD link of the live city runs decoy-state BB84 at the asymptotic rate of
``qsafecity.qkd.physics`` for its length and preset. Key is produced in blocks (one per step of
the city); every block sacrifices a sample of the sifted bits to estimate the QBER, as a real
system does, and the block is discarded, and the link reported as aborted, when the estimate
exceeds the abort threshold (BB84 yields no key above about 11 % QBER, REFERENCE.md §5).

An intercept-resend eavesdropper who attacks a fraction ``F`` of the pulses is modelled through
the error it causes (Gisin, Ribordy, Tittel, Zbinden, Rev. Mod. Phys. 74, 145 (2002), §6.2): an
intercepted photon is resent in the wrong basis half the time, where Bob sees a 50 % error, and in
the right basis otherwise, where only the misalignment ``e_d`` applies, so::

    e_d' = (1 - F) e_d + F (e_d/2 + 1/4) = e_d + F (1/4 - e_d/2)

The link's QBER and secret key rate follow from the physics model with ``e_d'`` in place of
``e_d``: a full attack (F = 1) gives about 25 % QBER and no key, a partial one lowers the rate
before it triggers the abort.

The key a block yields is its finite-size key length (``qsafecity.qkd.finite``: the bounds of Lim,
Curty, Walenta, Xu, Zbinden, PRA 89, 022307 (2014), for a block of the pulses sent during the
step, with the attacked parameters), not the asymptotic rate times its duration: a short block
pays the statistical fluctuations of its decoy estimates. The abort decision stays on the sampled
QBER and the asymptotic rate: a block too short to give key is not an eavesdropper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import numpy as np

from qsafecity.qkd import finite, physics
from qsafecity.qkd.physics import LinkParameters

#: Abort threshold on the estimated QBER: no BB84 key survives above about 11 % (REFERENCE.md §5).
ABORT_QBER: Final = 0.11
#: Fraction of the sifted bits of a block disclosed to estimate the QBER (a common choice).
SAMPLE_FRACTION: Final = 0.1
#: Most bits sampled per block; enough for a QBER estimate within about 0.3 % (1 sigma at 3 %).
MAX_SAMPLE_BITS: Final = 4_000
#: Links longer than this use the backbone preset, shorter ones the metro preset.
METRO_LIMIT_KM: Final = 50.0


class LinkState(StrEnum):
    RUNNING = "running"
    ABORTED = "aborted"
    CUT = "cut"


def link_id(a: str, b: str) -> str:
    """The name of the link between sites ``a`` and ``b`` as the manifest orders them."""
    return f"{a}-{b}"


def preset_for(length_km: float) -> LinkParameters:
    """Metro devices on city fibre, backbone devices on long regional spans."""
    return physics.METRO if length_km <= METRO_LIMIT_KM else physics.BACKBONE


@dataclass(frozen=True, slots=True)
class LinkRates:
    """What the physics model gives a link under a given attack: QBER, sifted and secret rates."""

    qber: float
    sifted_rate_bps: float
    secret_rate_bps: float
    #: The parameters of the attacked channel (the misalignment raised by the eavesdropper).
    params: LinkParameters


def rates_under_attack(
    params: LinkParameters, length_km: float, eavesdrop_fraction: float
) -> LinkRates:
    """QBER and rates of a link whose pulses an intercept-resend attacker reads a fraction of."""
    if not 0.0 <= eavesdrop_fraction <= 1.0:
        raise ValueError(f"eavesdrop fraction must be in [0, 1], got {eavesdrop_fraction}")
    e_d = params.misalignment_error
    attacked = params.with_changes(misalignment_error=e_d + eavesdrop_fraction * (0.25 - e_d / 2.0))
    # The devices keep the intensity they optimised for the quiet channel: Alice does not know
    # that Eve is there.
    mu = float(physics.optimal_mu(params, length_km))
    eta = physics.overall_transmittance(attacked, length_km)
    qber = float(physics.error_rate(attacked, eta, mu))
    sifted = (
        float(
            physics.detection_rate_hz(attacked, length_km, mu)
            * physics.dead_time_factor(attacked, length_km, mu)
        )
        * attacked.sifting_factor
    )
    secret = float(physics.secret_key_rate_bps(attacked, length_km, mu=mu))
    return LinkRates(
        qber=qber, sifted_rate_bps=sifted, secret_rate_bps=max(secret, 0.0), params=attacked
    )


def block_key_bits(rates: LinkRates, length_km: float, seconds: float) -> int:
    """Secret bits of one block of ``seconds`` of pulses: its finite-size key length (Lim 2014)."""
    pulses = rates.params.source_rate_hz * seconds
    if pulses < 1.0:
        return 0
    per_pulse = finite.finite_key_rate_per_pulse(rates.params, length_km, pulses)
    return max(0, math.floor(per_pulse * pulses))


@dataclass(slots=True)
class QKDLinkRuntime:
    """One running QKD link. Mutable: the city steps it; read it through :meth:`snapshot`."""

    a: str
    b: str
    length_km: float
    params: LinkParameters
    eavesdrop_fraction: float = 0.0
    cut: bool = False
    state: LinkState = LinkState.RUNNING
    qber_estimate: float = 0.0
    secret_rate_bps: float = 0.0
    generated_bits: int = 0
    aborted_blocks: int = 0
    _rates: dict[float, LinkRates] = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str:
        return link_id(self.a, self.b)

    def rates(self) -> LinkRates:
        fraction = self.eavesdrop_fraction
        if fraction not in self._rates:
            self._rates[fraction] = rates_under_attack(self.params, self.length_km, fraction)
        return self._rates[fraction]

    def step(self, seconds: float, rng: np.random.Generator) -> int:
        """Run the link for ``seconds`` of simulated time; return the secret bits it yielded.

        One block per step, of the finite-size key length of its pulses: the QBER is estimated on a binomial sample of the sifted bits, and a
        block whose estimate exceeds :data:`ABORT_QBER` yields nothing.
        """
        if seconds <= 0:
            return 0
        if self.cut:
            self.state = LinkState.CUT
            self.secret_rate_bps = 0.0
            return 0
        rates = self.rates()
        sifted_bits = rates.sifted_rate_bps * seconds
        sample = int(min(MAX_SAMPLE_BITS, max(1.0, sifted_bits * SAMPLE_FRACTION)))
        errors = int(rng.binomial(sample, min(max(rates.qber, 0.0), 1.0)))
        self.qber_estimate = errors / sample
        if self.qber_estimate > ABORT_QBER or rates.secret_rate_bps <= 0.0:
            self.state = LinkState.ABORTED
            self.aborted_blocks += 1
            self.secret_rate_bps = 0.0
            return 0
        self.state = LinkState.RUNNING
        bits = block_key_bits(rates, self.length_km, seconds)
        self.secret_rate_bps = bits / seconds
        self.generated_bits += bits
        return bits
