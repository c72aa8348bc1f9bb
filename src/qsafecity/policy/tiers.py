"""The paper's classification of city services into three tiers, with a reason a regulator can read.

Minbaleev and Evsikov (§5 item 3 and §6) group a smart city's services by their ability to affect
a resident: *critical* services serve the physical and virtual security of residents,
*especially important* ones the physical environment and the interaction between residents and the
authorities, *important* ones competence control, culture and leisure. The manifest's ``function``
names the service's purpose; the vocabulary (``qsafecity.city.vocabulary``) fixes which criterion
each function meets. A manifest may override the tier with a reason, which is honoured and shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from qsafecity.city.model import Service
from qsafecity.city.vocabulary import TIER_OF_FUNCTION, Tier

#: The paper's criterion for each tier, in the words a report shows.
CRITERION: Final[dict[Tier, str]] = {
    Tier.CRITICAL: "serves the physical and virtual security of residents",
    Tier.ESPECIALLY_IMPORTANT: (
        "serves the physical environment and the interaction between residents and the authorities"
    ),
    Tier.IMPORTANT: "serves competence control, culture or leisure",
}

SOURCE: Final = (
    "Minbaleev and Evsikov, 'Regulation of quantum communications in the smart city', §5.3 and §6"
)


@dataclass(frozen=True, slots=True)
class Classification:
    """The tier of one service and why.

    ``computed_tier`` is what the function alone gives (``None`` for a function outside the
    vocabulary); ``overridden`` is true when the manifest's ``tier`` decided instead.
    """

    service_id: str
    tier: Tier
    reason: str
    overridden: bool
    computed_tier: Tier | None


def classify(service: Service) -> Classification:
    """Tier ``service`` by the paper's criterion through its ``function``, honouring overrides."""
    computed = TIER_OF_FUNCTION.get(service.function)
    if service.tier is not None:
        reason = f"{service.tier.value} (override): {service.tier_reason}"
        if computed is not None and computed is not service.tier:
            reason += f"; by its function {service.function} it would be {computed.value}"
        elif computed is None:
            reason += f"; function {service.function} is outside the vocabulary"
        return Classification(service.id, service.tier, reason, True, computed)
    if computed is None:
        # The loader refuses such a manifest, so only a hand-built Service can get here.
        raise ValueError(f"service {service.id}: function {service.function!r} has no tier")
    reason = f"{computed.value}: {service.function} {CRITERION[computed]}"
    return Classification(service.id, computed, reason, False, computed)
