"""Planning the city's quantum network and budget.

``plan_city`` answers, for a prepared city: which QKD links and trusted nodes to build or lease,
which critical services get QKD keys over which routes, what it costs over the horizon, what the
support programme costs the state, and which services cannot be covered, why, and what would fix
it. The optimiser is a mixed-integer programme solved with HiGHS (``milp``); ``greedy`` is the
baseline heuristic and the source of cheapest fixes; ``sweep`` runs scenarios through Dask.
"""

from __future__ import annotations

from qsafecity.planning.assemble import PQC_FALLBACK, assemble
from qsafecity.planning.costs import UNITS_PER_EUR, CostInputs, default_costs
from qsafecity.planning.finance import present_value_factor
from qsafecity.planning.forecast import RISK_FLOOR, ForecastRisk, ServiceRisk, forecast_risk
from qsafecity.planning.greedy import solve_greedy
from qsafecity.planning.milp import DEFAULT_GAP, DEFAULT_TIME_LIMIT_S, solve_milp
from qsafecity.planning.problem import (
    DEFAULT_HORIZON_YEARS,
    MAX_HORIZON_YEARS,
    PlanningProblem,
    prepare,
)
from qsafecity.planning.result import (
    PLAN_FORMAT,
    CostSummary,
    Coverage,
    Decisions,
    ForecastSummary,
    Infeasibility,
    OperatorSubsidy,
    Plan,
    PlannedLink,
    PlannedNode,
    RouteFlow,
    ServicePlan,
    SolverReport,
)


def plan_city(
    problem: PlanningProblem,
    budget: float | None = None,
    *,
    method: str = "milp",
    gap: float = DEFAULT_GAP,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    risk: ForecastRisk | None = None,
) -> Plan:
    """The plan for ``problem`` under ``budget`` (present value, whole plan, mandatory PQC included).

    ``method`` is ``milp`` (optimal to ``gap``) or ``greedy`` (the baseline heuristic). With
    ``risk`` (a CRQC forecast's exposure, ``forecast_risk``), a budget covers the most exposed
    critical services first and the plan reports the exposure it leaves.
    """
    if budget is not None and not budget >= 0.0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    if method == "milp":
        decisions = solve_milp(problem, budget, gap=gap, time_limit_s=time_limit_s, risk=risk)
    elif method == "greedy":
        decisions = solve_greedy(problem, budget, risk=risk)
    else:
        raise ValueError(f"unknown method {method!r}; use 'milp' or 'greedy'")
    return assemble(problem, decisions, budget, risk)


__all__ = [
    "DEFAULT_GAP",
    "DEFAULT_HORIZON_YEARS",
    "DEFAULT_TIME_LIMIT_S",
    "MAX_HORIZON_YEARS",
    "PLAN_FORMAT",
    "PQC_FALLBACK",
    "RISK_FLOOR",
    "UNITS_PER_EUR",
    "CostInputs",
    "CostSummary",
    "Coverage",
    "Decisions",
    "ForecastRisk",
    "ForecastSummary",
    "Infeasibility",
    "OperatorSubsidy",
    "Plan",
    "PlannedLink",
    "PlannedNode",
    "PlanningProblem",
    "RouteFlow",
    "ServicePlan",
    "ServiceRisk",
    "SolverReport",
    "assemble",
    "default_costs",
    "forecast_risk",
    "plan_city",
    "prepare",
    "present_value_factor",
    "solve_greedy",
    "solve_milp",
]
