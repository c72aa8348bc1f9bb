"""The city's protection policy (pure): tiers, profiles, compliance, contracts, support programme.

* ``classify`` tiers a service by the paper's criterion, with a reason a regulator can read;
* ``profile_for`` gives the protection profile of a tier (defined as data in ``profiles``);
* ``judge_crypto`` judges a service's cryptography against its profile;
* ``check_contract`` checks an operator's contract against the duties of its services;
* ``support_for`` and ``annuity`` compute the state support programme for QKD lines.
"""

from qsafecity.policy.compliance import (
    CryptoJudgement,
    EffectiveCrypto,
    effective_crypto,
    judge_crypto,
    judge_effective,
)
from qsafecity.policy.contracts import check_contract
from qsafecity.policy.findings import Finding, Severity
from qsafecity.policy.observed import ObservedCrypto
from qsafecity.policy.profiles import PROFILES, ProtectionProfile, RequiredProtection, profile_for
from qsafecity.policy.support import (
    DEFAULT_FINANCE,
    DEFAULT_QKD_LINE_COST,
    Annuity,
    SupportEntry,
    annuity,
    qkd_line_cost,
    qkd_lines_needed,
    support_for,
)
from qsafecity.policy.tiers import CRITERION, Classification, classify

__all__ = [
    "CRITERION",
    "DEFAULT_FINANCE",
    "DEFAULT_QKD_LINE_COST",
    "PROFILES",
    "Annuity",
    "Classification",
    "CryptoJudgement",
    "EffectiveCrypto",
    "Finding",
    "ObservedCrypto",
    "ProtectionProfile",
    "RequiredProtection",
    "Severity",
    "SupportEntry",
    "annuity",
    "check_contract",
    "classify",
    "effective_crypto",
    "judge_crypto",
    "judge_effective",
    "profile_for",
    "qkd_line_cost",
    "qkd_lines_needed",
    "support_for",
]
