"""The link pipeline: pulses -> sifted key -> estimation -> Cascade -> verification -> hashing.

``run_link`` runs one block of a QKD link end to end and reports every stage. It never raises for
a security abort: the report says ``aborted`` and why, and :meth:`LinkReport.raise_if_aborted`
turns that into :class:`~qsafecity.errors.SecurityAbort` for callers that want an exception.

Abort rules (the key could not be proven secret, so none is produced):

1. the QBER of the public Z-basis test bits exceeds 11 % (no BB84 key exists above about 11 %,
   Shor and Preskill, PRL 85, 441 (2000); intercept-resend on every photon gives about 25 %);
2. the decoy statistics certify no single-photon detection (Lim 2014 eq. 3 gives s1 <= 0): the
   signature of photon-number splitting, or a block too short for the distance;
3. the phase-error bound (Lim 2014 eq. 5) reaches 1/2;
4. the key length of Lim 2014 eq. 1, after the reconciliation leak and authentication, is <= 0;
5. the verification hash after Cascade differs (the frame is discarded).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np

from qsafecity.errors import InputError, QKDError, SecurityAbort
from qsafecity.qkd.authentication import AuthenticationMethod, authentication_cost
from qsafecity.qkd.bb84 import MAX_PULSES, Eavesdropper, simulate
from qsafecity.qkd.cascade import CascadeVariant, reconcile, verify
from qsafecity.qkd.finite import (
    DEFAULT_EPSILON_CORRECTNESS,
    DEFAULT_EPSILON_SECRECY,
    DecoySettings,
    expected_counts,
    finite_key_bounds,
    secret_key_length,
)
from qsafecity.qkd.physics import LinkParameters, binary_entropy
from qsafecity.qkd.privacy import toeplitz_hash

#: Above this QBER BB84 yields no key (Shor-Preskill threshold, about 11 %).
QBER_ABORT_THRESHOLD: Final = 0.11
#: Bits of the verification tag (collision probability 2^-64).
VERIFICATION_TAG_BITS: Final = 64


@dataclass(frozen=True, slots=True)
class LinkReport:
    """Every stage of one block, reproducible from the seed that made it.

    Bit counts are integers; rates are per second of source time (``pulses / source_rate_hz``).
    """

    preset: str
    distance_km: float
    pulses: int
    seed: int | None
    eavesdropper: str
    detections: int
    double_clicks: int
    sifted_bits: int
    test_bits: int
    qber_estimate: float
    qber: float
    single_photon_bits: float
    phase_error_upper: float
    leaked_bits: int
    errors_corrected: int
    cascade_passes: int
    f_ec: float
    authentication: str
    authentication_key_bits: int
    authentication_bytes: int
    secret_bits: int
    duration_s: float
    secret_key_rate_bps: float
    aborted: bool
    abort_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (non-finite floats become ``None``)."""
        values = asdict(self)
        return {
            key: (None if isinstance(value, float) and not math.isfinite(value) else value)
            for key, value in values.items()
        }

    def raise_if_aborted(self) -> None:
        """Raise :class:`SecurityAbort` with the reason when the block aborted."""
        if self.aborted:
            raise SecurityAbort(f"QKD aborted: {self.abort_reason}")


def run_link(
    params: LinkParameters,
    distance_km: float,
    pulses: int,
    rng: np.random.Generator,
    *,
    settings: DecoySettings | None = None,
    eve: Eavesdropper | None = None,
    variant: CascadeVariant | str = CascadeVariant.BICONF,
    authentication: AuthenticationMethod | str = AuthenticationMethod.ML_DSA_65,
    epsilon_secrecy: float = DEFAULT_EPSILON_SECRECY,
    epsilon_correctness: float = DEFAULT_EPSILON_CORRECTNESS,
    seed: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[LinkReport, np.typing.NDArray[np.uint8]]:
    """Run one block; return its report and the final secret key (empty when aborted).

    ``seed`` is only recorded in the report (the caller made ``rng`` from it).
    """
    chosen_settings = settings or DecoySettings()
    attack = eve or Eavesdropper()
    auth = authentication_cost(authentication)
    cascade_variant = CascadeVariant(variant)
    data = simulate(
        params,
        distance_km,
        pulses,
        rng,
        settings=chosen_settings,
        eve=attack,
        on_progress=on_progress,
    )
    counts = data.counts
    test_bits = round(sum(counts.detections_z))
    test_errors = sum(counts.errors_z)
    duration_s = pulses / params.source_rate_hz
    fields: dict[str, Any] = {
        "preset": params.name,
        "distance_km": float(distance_km),
        "pulses": int(pulses),
        "seed": seed,
        "eavesdropper": attack.kind.value
        + (f":{attack.strength:g}" if attack.kind.value in ("intercept-resend", "noisy") else ""),
        "detections": data.detections,
        "double_clicks": data.double_clicks,
        "sifted_bits": data.sifted_bits,
        "test_bits": test_bits,
        "qber_estimate": test_errors / test_bits if test_bits else math.nan,
        "qber": float(np.mean(data.alice_key != data.bob_key)) if data.sifted_bits else math.nan,
        "single_photon_bits": 0.0,
        "phase_error_upper": 0.5,
        "leaked_bits": 0,
        "errors_corrected": 0,
        "cascade_passes": 0,
        "f_ec": math.nan,
        "authentication": auth.method.value,
        "authentication_key_bits": auth.key_bits,
        "authentication_bytes": auth.bytes_sent,
        "secret_bits": 0,
        "duration_s": duration_s,
        "secret_key_rate_bps": 0.0,
        "aborted": False,
        "abort_reason": None,
    }
    empty = np.zeros(0, dtype=np.uint8)

    def abort(reason: str) -> tuple[LinkReport, np.typing.NDArray[np.uint8]]:
        fields["aborted"] = True
        fields["abort_reason"] = reason
        return LinkReport(**fields), empty

    # Parameter estimation on the public sample: the Z-basis detections.
    if test_bits == 0 or data.sifted_bits == 0:
        return abort(
            f"no detections to estimate from ({data.detections} detections in {pulses} pulses)"
        )
    qber_estimate = float(fields["qber_estimate"])
    if qber_estimate > QBER_ABORT_THRESHOLD:
        return abort(
            f"QBER {qber_estimate:.1%} on the test bits exceeds the {QBER_ABORT_THRESHOLD:.0%} "
            "BB84 threshold (an intercept-resend attack on every photon gives about 25 %)"
        )
    bounds = finite_key_bounds(chosen_settings, counts, epsilon_secrecy)
    fields["single_photon_bits"] = bounds.single_photon_x
    fields["phase_error_upper"] = bounds.phase_error_upper
    if bounds.no_single_photons or bounds.phase_error_upper >= 0.5:
        honest = finite_key_bounds(
            chosen_settings,
            expected_counts(params, distance_km, pulses, chosen_settings),
            epsilon_secrecy,
        )
        if honest.no_single_photons or honest.phase_error_upper >= 0.5:
            return abort(
                f"{pulses} pulses are too few at {distance_km:g} km: the decoy statistics "
                "cannot bound the single-photon detections and their phase error below 50 % "
                "(send more pulses)"
            )
        # Where the honest link would certify single photons, the bound s1 fluctuates by a few
        # per cent between blocks (it is a linear combination of counts of >= 10^4 events); a
        # deficit of a quarter is not chance but missing single photons.
        if bounds.no_single_photons or bounds.single_photon_x < 0.75 * honest.single_photon_x:
            return abort(
                "the decoy statistics show photon-number-dependent loss (the weak decoy is "
                "detected far less often than the signal implies): the signature of a "
                "photon-number-splitting attack; no single-photon detection can be certified"
            )
        return abort("the phase-error bound reaches 50 %: Eve may know the whole key")

    reconciled = reconcile(
        data.alice_key,
        data.bob_key,
        min(max(qber_estimate, 1e-3), 0.49),
        rng,
        cascade_variant,
    )
    leaked = reconciled.leaked_bits
    fields["errors_corrected"] = reconciled.errors_corrected
    fields["cascade_passes"] = reconciled.passes
    try:
        leaked += verify(data.alice_key, reconciled.corrected_key, rng, VERIFICATION_TAG_BITS)
    except QKDError as error:
        fields["leaked_bits"] = leaked + VERIFICATION_TAG_BITS
        return abort(str(error))
    fields["leaked_bits"] = leaked
    qber = float(fields["qber"])
    entropy = float(binary_entropy(qber))
    fields["f_ec"] = leaked / (data.sifted_bits * entropy) if entropy > 0 else math.inf

    length = secret_key_length(bounds, leaked, epsilon_secrecy, epsilon_correctness)
    length -= auth.key_bits
    if length <= 0:
        return abort(
            "no secret key: the reconciliation leak, the authentication cost and the finite-size "
            f"terms exceed the certified entropy of {bounds.single_photon_x:.0f} single-photon bits "
            f"(phase error <= {bounds.phase_error_upper:.1%})"
        )
    seed_bits = rng.integers(0, 2, size=data.sifted_bits + length - 1, dtype=np.uint8)
    alice_final = toeplitz_hash(data.alice_key, seed_bits, length)
    bob_final = toeplitz_hash(reconciled.corrected_key, seed_bits, length)
    if not np.array_equal(alice_final, bob_final):
        # Verification passed, so this would be a 2^-64 event: treat it as the failure it is.
        return abort("final keys differ after privacy amplification")
    fields["secret_bits"] = length
    fields["secret_key_rate_bps"] = length / duration_s
    return LinkReport(**fields), alice_final


def parse_pulses(text: str) -> int:
    """Parse a pulse count such as ``1e8`` or ``250000000``; ``InputError`` when absurd."""
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"number of pulses must be a number, got {text!r}") from None
    if not math.isfinite(value) or value != math.floor(value) or not (1 <= value <= MAX_PULSES):
        raise InputError(
            f"number of pulses must be a whole number in [1, {MAX_PULSES:.0e}], got {text!r}"
        )
    return int(value)
