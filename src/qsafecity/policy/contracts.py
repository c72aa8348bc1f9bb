"""Contracts between the municipality and each operator (the paper, §5 items 2 and 3).

The municipality is liable for damage caused by city systems and may recover its costs from a
contracted operator at fault; a contract must delineate that responsibility. Contracts with
operators of critical services must oblige quantum-secure cryptography. Municipal operators are the
municipality itself and need no contract.
"""

from __future__ import annotations

from collections.abc import Sequence

from qsafecity.city.model import Operator
from qsafecity.city.vocabulary import Clause, OperatorType, Tier
from qsafecity.policy.findings import Finding, Severity


def check_contract(operator: Operator, tiers_of_services: Sequence[Tier]) -> list[Finding]:
    """Contract findings for ``operator``, given the tiers of the services it runs."""
    if operator.type is OperatorType.MUNICIPAL:
        return []
    runs_critical = Tier.CRITICAL in tiers_of_services
    runs_especially_important = Tier.ESPECIALLY_IMPORTANT in tiers_of_services
    oid = operator.id
    if operator.contract is None:
        severity = (
            Severity.CRITICAL
            if runs_critical
            else Severity.HIGH
            if tiers_of_services
            else Severity.MEDIUM
        )
        what = "critical services" if runs_critical else f"{len(tiers_of_services)} city services"
        return [
            Finding(
                "CONTRACT-MISSING",
                severity,
                oid,
                "contract",
                f"contractor {operator.name} runs {what} with no contract with the municipality: "
                "responsibility, liability and cost recovery are undefined",
                "conclude a contract with the quantum-secure-crypto (if it runs critical services), "
                "liability, cost-recovery and incident-reporting clauses",
            )
        ]
    clauses = set(operator.contract.clauses)
    contract_id = operator.contract.id
    findings = []
    if Clause.QUANTUM_SECURE_CRYPTO not in clauses:
        if runs_critical:
            findings.append(
                Finding(
                    "CONTRACT-NO-QUANTUM-CLAUSE",
                    Severity.CRITICAL,
                    oid,
                    "contract",
                    f"contract {contract_id} does not oblige quantum-secure cryptography, but "
                    f"{operator.name} runs critical services (the paper requires this duty)",
                    "amend the contract with a quantum-secure-crypto clause (QKD+PQC for critical services)",
                )
            )
        elif runs_especially_important:
            findings.append(
                Finding(
                    "CONTRACT-QUANTUM-CLAUSE-RECOMMENDED",
                    Severity.INFO,
                    oid,
                    "contract",
                    f"contract {contract_id} has no quantum-secure-crypto clause; it is voluntary "
                    "for especially important services but fixes the PQC duty of their profile",
                    "add a quantum-secure-crypto clause at the next amendment",
                )
            )
    for clause, why in (
        (Clause.LIABILITY, "the operator's liability for damage caused by its system is not fixed"),
        (
            Clause.COST_RECOVERY,
            "the municipality cannot recover its costs from the operator at fault",
        ),
    ):
        if clause not in clauses:
            findings.append(
                Finding(
                    f"CONTRACT-NO-{clause.value.upper()}",
                    Severity.HIGH if runs_critical else Severity.MEDIUM,
                    oid,
                    "contract",
                    f"contract {contract_id} has no {clause.value} clause: {why}",
                    f"amend the contract with a {clause.value} clause",
                )
            )
    if Clause.INCIDENT_REPORTING not in clauses:
        findings.append(
            Finding(
                "CONTRACT-NO-INCIDENT-REPORTING",
                Severity.LOW,
                oid,
                "contract",
                f"contract {contract_id} does not oblige the operator to report incidents",
                "add an incident-reporting clause",
            )
        )
    return findings
