"""The terminal view of an assessment: a summary, then a table per tier, then the operators."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from qsafecity.assessment import CityAssessment, ServiceAssessment
from qsafecity.city.vocabulary import Tier
from qsafecity.policy import Severity

_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def _money(value: float, currency: str) -> str:
    if value >= 1e9:
        return f"{value / 1e9:,.2f} bn {currency}"
    if value >= 1e6:
        return f"{value / 1e6:,.2f} M {currency}"
    return f"{value:,.0f} {currency}"


def _slack(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


def summary(result: CityAssessment) -> Panel:
    city = result.city.city
    by_tier = result.services_by_tier()
    compliant = result.compliant_by_tier()
    severities = result.findings_by_severity()
    subsidy = sum(o.support.subsidy for o in result.operators)
    subsidy_pv = sum(o.support.subsidy_present_value for o in result.operators)
    lines = Text()
    population = f", population {city.population:,}" if city.population else ""
    lines.append(f"{city.name}{population}: {len(result.services)} services, ", style="bold")
    lines.append(f"assessed for {result.now_year} with forecast {result.forecast.name} ")
    lines.append(f"(risk tolerance {result.tolerance:.0%})\n")
    for tier in Tier:
        lines.append(f"  {tier.value:<22}", style="bold")
        lines.append(f"{by_tier[tier]:>4} services, {compliant[tier]:>4} compliant\n")
    lines.append(f"  at risk now (Mosca, conservative bound): {result.at_risk_count()} services\n")
    lines.append("  findings: ")
    for severity in reversed(Severity):
        lines.append(f"{severity.value} {severities[severity]}  ", style=_SEVERITY_STYLE[severity])
    qualifying = sum(o.support.qualifies for o in result.operators)
    lines.append(
        f"\n  support programme: {qualifying} operators qualify; interest subsidy "
        f"{_money(subsidy, city.currency)} (present value {_money(subsidy_pv, city.currency)})"
    )
    return Panel(lines, title="qsafecity assessment", expand=False)


def tier_table(result: CityAssessment, tier: Tier) -> Table | None:
    rows = [s for s in result.services if s.classification.tier is tier]
    if not rows:
        return None
    profile = rows[0].profile
    table = Table(
        title=f"{tier.value}: requires {profile.required_protection.value}", title_justify="left"
    )
    table.add_column("service")
    table.add_column("ok", justify="center")
    table.add_column("key exchange / signature / cipher")
    table.add_column("P(exposed)", justify="right")
    table.add_column("slack y", justify="right")
    table.add_column("findings")
    for s in rows:
        table.add_row(
            s.service.id + (" *" if s.classification.overridden else ""),
            Text("yes", style="green") if s.judgement.compliant else Text("no", style="red"),
            " / ".join(
                (
                    s.judgement.effective.key_exchange.name,
                    s.judgement.effective.signature.name,
                    s.judgement.effective.cipher.name,
                )
            ),
            _exposure(s),
            _slack(s.risk.high.slack_years),
            _findings_cell(s),
        )
    return table


def _exposure(s: ServiceAssessment) -> Text:
    if s.risk.in_clear:
        return Text("in clear", style="red" if s.risk.high.at_risk else "yellow")
    if not s.risk.harvestable:
        return Text("safe", style="green")
    text = f"{s.risk.low.probability_exposed:.0%}–{s.risk.high.probability_exposed:.0%}"
    return Text(text, style="red" if s.risk.high.at_risk else "")


def _findings_cell(s: ServiceAssessment) -> Text:
    text = Text()
    ordered = sorted(s.findings, key=lambda f: -f.severity.rank)
    for index, finding in enumerate(ordered[:3]):
        if index:
            text.append(", ")
        text.append(finding.code, style=_SEVERITY_STYLE[finding.severity])
    if len(ordered) > 3:
        text.append(f" +{len(ordered) - 3}")
    return text


def operators_table(result: CityAssessment) -> Table:
    currency = result.city.city.currency
    table = Table(title="operators: contracts and the support programme", title_justify="left")
    table.add_column("operator")
    table.add_column("type")
    table.add_column("contract findings")
    table.add_column("QKD lines", justify="right")
    table.add_column("interest subsidy", justify="right")
    for o in result.operators:
        findings = Text()
        for index, f in enumerate(sorted(o.findings, key=lambda f: -f.severity.rank)):
            if index:
                findings.append(", ")
            findings.append(f.code, style=_SEVERITY_STYLE[f.severity])
        support = o.support
        subsidy = _money(support.subsidy, currency) if support.loan else (support.note or "—")
        table.add_row(
            o.operator.id,
            o.operator.type.value,
            findings or Text("—", style="green"),
            str(len(support.qkd_lines)) if support.qualifies else "—",
            subsidy,
        )
    return table


def render_terminal(result: CityAssessment, console: Console) -> None:
    """Print the assessment: summary, a table per tier (``*`` marks an override), operators."""
    parts: list[Panel | Table] = [summary(result)]
    for tier in Tier:
        table = tier_table(result, tier)
        if table is not None:
            parts.append(table)
    parts.append(operators_table(result))
    console.print(Group(*parts))
    console.print(
        "P(exposed): low–high bounds of the forecast; slack: years before the risk passes the "
        "tolerance (negative = late); * = tier set by an override. Details: --format json|html.",
        style="dim",
    )
