"""``qsafecity plan``: what to build for QKD where it is required, PQC elsewhere, within a budget."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from qsafecity.city import parse_document
from qsafecity.cli._app import stdout
from qsafecity.errors import InputError, ManifestError
from qsafecity.manifests import load_city, write_output

if TYPE_CHECKING:
    from qsafecity.city import CityManifest
    from qsafecity.planning import ForecastRisk, PlanningProblem
    from qsafecity.planning.sweep import Scenario, SweepPoint

# The planner pulls in HiGHS, networkx and plotly (about 2 s of imports), so the command imports
# it when it runs, not when the CLI starts. Its defaults are repeated here for the option help;
# tests/cli/test_plan_cli.py checks that they match ``qsafecity.planning``.
DEFAULT_GAP: Final = 0.01
DEFAULT_HORIZON_YEARS: Final = 10
DEFAULT_TIME_LIMIT_S: Final = 60.0
MAX_HORIZON_YEARS: Final = 50
DEFAULT_PRESET: Final = "metro"

MAX_COSTS_BYTES: Final = 64 * 1024
MAX_SWEEP_POINTS: Final = 200
#: Suffixes accepted in amounts: 150M, 1.2bn, 300k.
_MULTIPLIERS: Final = {"": 1.0, "k": 1e3, "m": 1e6, "mn": 1e6, "g": 1e9, "bn": 1e9, "b": 1e9}
_AMOUNT = re.compile(r"^\s*([0-9][0-9_,]*(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)\s*([a-z]*)\s*$", re.I)


def parse_amount(text: str, what: str = "budget") -> float:
    """``150000000``, ``150M``, ``1.5bn``, ``300k`` or ``1.5e8`` as a non-negative finite amount."""
    match = _AMOUNT.match(text)
    suffix = match.group(2).lower() if match else ""
    if match is None or suffix not in _MULTIPLIERS:
        raise InputError(
            f"{what} {text!r} is not an amount (examples: 150000000, 150M, 1.5bn, 300k)"
        )
    try:
        value = float(match.group(1).replace("_", "").replace(",", "")) * _MULTIPLIERS[suffix]
    except ValueError:
        raise InputError(f"{what} {text!r} is not an amount") from None
    if not math.isfinite(value) or value > 1e15:
        raise InputError(f"{what} {text!r} is too large")
    return value


def parse_sweep(text: str) -> list[float]:
    """``budget=<from>:<to>:<count>``: that many budgets evenly spaced from one amount to the other."""
    name, _, spec = text.partition("=")
    if name.strip().lower() != "budget":
        raise InputError(f"--sweep {text!r}: {_SWEEP_FORMS}")
    parts = spec.split(":")
    if len(parts) != 3:
        raise InputError(
            f"--sweep {text!r}: write budget=<from>:<to>:<count>, e.g. budget=200M:1bn:9"
        )
    low, high = parse_amount(parts[0], "sweep start"), parse_amount(parts[1], "sweep end")
    try:
        count = int(parts[2])
    except ValueError:
        raise InputError(f"--sweep {text!r}: N must be a whole number") from None
    if not 2 <= count <= MAX_SWEEP_POINTS:
        raise InputError(f"--sweep {text!r}: N must be 2..{MAX_SWEEP_POINTS}")
    if high <= low:
        raise InputError(f"--sweep {text!r}: the end must be above the start")
    return [low + (high - low) * i / (count - 1) for i in range(count)]


_SWEEP_FORMS: Final = (
    "sweep budget=<from>:<to>:<count> or forecast=<name-or-file>,<name-or-file>,... "
    "(repeat --sweep to combine them)"
)


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """What ``--sweep`` options ask for: budgets and/or forecasts (None: not swept)."""

    budgets: list[float] | None
    forecasts: list[str] | None


def parse_forecast_list(text: str) -> list[str]:
    """``forecast=gri-2024,gri-2025,my.csv``: the forecasts' names or files, in order: a shipped
    forecast, ``manifest`` (the city's own ``assumptions.crqc_forecast``) or a CSV file."""
    name, _, spec = text.partition("=")
    if name.strip().lower() != "forecast":
        raise InputError(f"--sweep {text!r}: {_SWEEP_FORMS}")
    items = [item.strip() for item in spec.split(",")]
    if not spec.strip() or any(not item for item in items):
        raise InputError(
            f"--sweep {text!r}: list forecasts separated by commas, e.g. "
            "forecast=gri-2024,gri-2025,manifest,my-forecast.csv"
        )
    if len(set(items)) != len(items):
        raise InputError(f"--sweep {text!r}: a forecast is listed twice")
    if len(items) > MAX_SWEEP_POINTS:
        raise InputError(f"--sweep {text!r}: at most {MAX_SWEEP_POINTS} forecasts")
    return items


def parse_sweeps(texts: list[str]) -> SweepSpec:
    """One or more ``--sweep`` options; a budget and a forecast sweep make their product."""
    budgets: list[float] | None = None
    forecasts: list[str] | None = None
    for text in texts:
        kind = text.partition("=")[0].strip().lower()
        if kind == "budget":
            if budgets is not None:
                raise InputError("--sweep: give budget=... once")
            budgets = parse_sweep(text)
        elif kind == "forecast":
            if forecasts is not None:
                raise InputError("--sweep: give forecast=... once (list them with commas)")
            forecasts = parse_forecast_list(text)
        else:
            raise InputError(f"--sweep {text!r}: {_SWEEP_FORMS}")
    total = len(budgets or [None]) * len(forecasts or [None])
    if total > MAX_SWEEP_POINTS:
        raise InputError(
            f"--sweep: {total} scenarios; at most {MAX_SWEEP_POINTS} (fewer budgets or forecasts)"
        )
    return SweepSpec(budgets, forecasts)


def load_costs_file(path: Path) -> dict[str, object]:
    """Cost overrides from a YAML or JSON mapping (field names of ``CostInputs``)."""
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a costs file")
        if path.stat().st_size > MAX_COSTS_BYTES:
            raise InputError(f"{path}: a costs file is at most {MAX_COSTS_BYTES} bytes")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: is not UTF-8 text") from None
    except OSError as error:
        raise InputError(f"{path}: cannot be read: {error.strerror}") from None
    try:
        document = parse_document(text, str(path))
    except ManifestError as error:
        raise InputError(f"{path}: not a YAML/JSON mapping: {error.problems[0]}") from None
    if not isinstance(document, dict):
        raise InputError(f"{path}: must be a mapping of cost names to numbers")
    return dict(document)


def plan(
    city: Annotated[
        Path | None,
        typer.Argument(help="City manifest (YAML or JSON). Default: the bundled sample city."),
    ] = None,
    budget: Annotated[
        str | None,
        typer.Option(help="Whole-plan budget, present value (150M, 1.5bn...). Default: none."),
    ] = None,
    horizon_years: Annotated[
        int, typer.Option("--horizon-years", help="Planning horizon for operation costs.")
    ] = DEFAULT_HORIZON_YEARS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON plan.")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the HTML map (or sweep plot).")
    ] = None,
    costs: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON file overriding cost defaults (docs/planning.md)."),
    ] = None,
    preset: Annotated[
        str, typer.Option(help="QKD link preset of qsafecity.qkd (metro, backbone, gys).")
    ] = DEFAULT_PRESET,
    method: Annotated[str, typer.Option(help="milp (optimal) or greedy (the baseline).")] = "milp",
    gap: Annotated[float, typer.Option(help="Relative optimality gap to stop at.")] = DEFAULT_GAP,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Solver time limit, seconds.")
    ] = DEFAULT_TIME_LIMIT_S,
    rekey_mb: Annotated[
        float, typer.Option("--rekey-mb", help="A fresh key per this many MB of data.")
    ] = 100.0,
    rekey_seconds: Annotated[
        float, typer.Option("--rekey-seconds", help="...and at least one per this many seconds.")
    ] = 60.0,
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            help="Scenario sweep: budget=<from>:<to>:<count> and/or forecast=<name|file>,... "
            "(repeat to combine: every forecast at every budget); table, and plot with -o."
        ),
    ] = None,
    forecast: Annotated[
        str | None,
        typer.Option(
            help="CRQC forecast (gri-2024, gri-2025, manifest, or a CSV file): under a budget, "
            "cover the most exposed critical services first and report the exposure left."
        ),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address for --sweep (default: local).")
    ] = None,
) -> None:
    """Plan the city's QKD network and budget: links, trusted nodes, routes, costs, subsidies.

    Critical services get QKD keys over routes of trusted nodes where the budget and physics
    allow, and fall back to PQC only, with the reason and the cheapest fix, where they do not.
    """
    if not 1 <= horizon_years <= MAX_HORIZON_YEARS:
        raise InputError(f"--horizon-years must be 1..{MAX_HORIZON_YEARS}, got {horizon_years}")
    if not (math.isfinite(gap) and 0.0 <= gap < 1.0):
        raise InputError(f"--gap must be in [0, 1), got {gap}")
    if not (math.isfinite(time_limit) and 0.0 < time_limit <= 86_400.0):
        raise InputError(f"--time-limit must be in (0, 86400] seconds, got {time_limit}")
    if method not in {"milp", "greedy"}:
        raise InputError(f"--method must be milp or greedy, got {method!r}")
    for name, value in (("--rekey-mb", rekey_mb), ("--rekey-seconds", rekey_seconds)):
        if not (math.isfinite(value) and 0.0 < value <= 1e9):
            raise InputError(f"{name} must be a positive number, got {value}")
    if sweep and as_json:
        raise InputError("--json and --sweep cannot be combined")
    if scheduler is not None and not sweep:
        raise InputError("--scheduler applies to --sweep only")
    chosen_budget = None if budget is None else parse_amount(budget)
    spec = parse_sweeps(sweep) if sweep else None
    if spec is not None and spec.budgets is not None and budget is not None:
        raise InputError("--budget and --sweep budget=... cannot be combined")
    if spec is not None and spec.forecasts is not None and forecast is not None:
        raise InputError("--forecast and --sweep forecast=... cannot be combined")
    if spec is not None and method != "milp":
        raise InputError("--sweep plans with the optimiser; leave out --method")
    if output is not None and output.suffix.lower() not in {".html", ".htm"}:
        raise InputError(f"{output}: the map is HTML; give a file ending in .html")

    from qsafecity.network import RekeyPolicy  # noqa: PLC0415 - see the import note above
    from qsafecity.planning import default_costs, plan_city, prepare  # noqa: PLC0415
    from qsafecity.planning.keyrates import PhysicsKeyRateModel  # noqa: PLC0415
    from qsafecity.reports.plan_html import plan_html, sweep_html  # noqa: PLC0415
    from qsafecity.reports.plan_terminal import render_plan, render_sweep  # noqa: PLC0415

    manifest = load_city(city)
    overrides = load_costs_file(costs) if costs is not None else None
    cost_inputs = default_costs(manifest, overrides)
    model = PhysicsKeyRateModel.from_preset(preset)
    problem = prepare(
        manifest,
        model,
        cost_inputs,
        horizon_years=horizon_years,
        rekey=RekeyPolicy(bytes_per_key=rekey_mb * 1e6, seconds_per_key=rekey_seconds),
    )

    now_year = datetime.now(UTC).year
    if spec is not None:
        from qsafecity.planning.sweep import scenarios_of  # noqa: PLC0415

        names: list[str | None] = [forecast]
        if spec.forecasts is not None:
            names = list(spec.forecasts)
        risks = [_risk(manifest, problem, name, now_year) for name in names]
        budgets: list[float | None] = [chosen_budget]
        if spec.budgets is not None:
            budgets = list(spec.budgets)
        points = _run_sweep(problem, scenarios_of(budgets, risks), scheduler, gap, time_limit)
        stdout.print(render_sweep(points, manifest.city.currency))
        if output is not None:
            write_output(output, sweep_html(points, manifest.city.currency, manifest.city.name))
            stdout.print(f"wrote the sweep plot to {output}", markup=False)
        return

    risk = None if forecast is None else _risk(manifest, problem, forecast, now_year)
    result = plan_city(
        problem, chosen_budget, method=method, gap=gap, time_limit_s=time_limit, risk=risk
    )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        stdout.print(render_plan(result))
    if output is not None:
        write_output(output, plan_html(result, problem.network))
        if not as_json:
            stdout.print(f"wrote the plan map to {output}", markup=False)


def _risk(
    city: CityManifest, problem: PlanningProblem, name: str | None, now_year: int
) -> ForecastRisk | None:
    """The critical services' exposure under a named forecast, ``manifest`` or a CSV file."""
    if name is None:
        return None
    from qsafecity.assessment import resolve_forecast  # noqa: PLC0415 - see the import note
    from qsafecity.manifests import load_forecast  # noqa: PLC0415
    from qsafecity.planning import forecast_risk  # noqa: PLC0415

    chosen = resolve_forecast(city) if name.lower() == "manifest" else load_forecast(name)
    return forecast_risk(
        city, chosen, now_year=now_year, service_ids={d.service_id for d in problem.critical}
    )


def _run_sweep(
    problem: PlanningProblem,
    scenarios: list[Scenario],
    scheduler: str | None,
    gap: float,
    time_limit: float,
) -> list[SweepPoint]:
    from qsafecity.planning.sweep import sweep as run_sweep  # noqa: PLC0415 - see the import note

    with Progress(
        TextColumn("planning scenarios"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stdout,
        transient=True,
    ) as progress:
        task = progress.add_task("sweep", total=len(scenarios))
        return run_sweep(
            problem,
            scenarios,
            scheduler=scheduler,
            gap=gap,
            time_limit_s=time_limit,
            on_done=lambda _point: progress.advance(task),
        )


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
