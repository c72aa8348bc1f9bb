"""``qsafecity qkd``: key rates of a QKD link, and a simulated block run end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from qsafecity.cli._app import stderr, stdout
from qsafecity.errors import InputError
from qsafecity.qkd import physics
from qsafecity.qkd.authentication import AuthenticationMethod
from qsafecity.qkd.bb84 import Eavesdropper
from qsafecity.qkd.cascade import CascadeVariant
from qsafecity.qkd.link import LinkReport, parse_pulses, run_link

qkd_app = typer.Typer(help="Simulate QKD links: key rates and protocol runs.", no_args_is_help=True)

#: Distances shown when none is asked for (those of REFERENCE.md §5's table).
DEFAULT_DISTANCES_KM = (0.0, 25.0, 50.0, 100.0)
#: Most rows a sweep may produce.
MAX_SWEEP_ROWS = 10_000

PresetOption = Annotated[
    str,
    typer.Option(
        "--preset",
        help=f"Link preset: {', '.join(sorted(physics.PRESETS))} (see docs/qkd.md).",
    ),
]


def _sweep(text: str) -> list[float]:
    parts = text.split(":")
    try:
        start, stop, step = (float(part) for part in parts)
    except ValueError:
        raise InputError(f"--sweep takes START:STOP:STEP in km, got {text!r}") from None
    if not all(math.isfinite(v) for v in (start, stop, step)) or step <= 0 or stop < start:
        raise InputError(f"--sweep needs finite START <= STOP and STEP > 0, got {text!r}")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_SWEEP_ROWS:
        raise InputError(f"--sweep would give {count} rows; at most {MAX_SWEEP_ROWS}")
    return [start + i * step for i in range(count)]


def _none_if_infinite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def keyrate_rows(
    link: physics.LinkParameters,
    distances_km: list[float],
    protocol: physics.Protocol,
    mu: float | None,
    nu: float,
) -> list[dict[str, Any]]:
    """The rows of ``qkd keyrate`` (also its JSON ``rows``)."""
    distances = np.asarray(distances_km, dtype=np.float64)
    mus = (
        physics.optimal_mu(link, distances, protocol, nu)
        if mu is None
        else np.full_like(distances, mu)
    )
    rates = np.array(
        [
            physics.key_rate_per_pulse(link, float(d), protocol, float(m), nu)
            for d, m in zip(distances, mus, strict=True)
        ]
    )
    rates_bps = np.array(
        [
            physics.secret_key_rate_bps(link, float(d), protocol, float(m), nu)
            for d, m in zip(distances, mus, strict=True)
        ]
    )
    eta = physics.overall_transmittance(link, distances)
    qbers = physics.error_rate(link, eta, mus)
    plob = physics.plob_bound_for_link(link, distances)
    return [
        {
            "distance_km": float(distances[i]),
            "rate_per_pulse": float(rates[i]),
            "rate_bps": float(rates_bps[i]),
            "qber": float(qbers[i]),
            "mu": float(mus[i]),
            "plob_per_pulse": _none_if_infinite(float(plob[i])),
        }
        for i in range(distances.size)
    ]


def _plot(
    path: Path,
    link: physics.LinkParameters,
    protocol: physics.Protocol,
    mu: float | None,
    nu: float,
) -> None:
    # Imported only when a plot is asked for: matplotlib takes a noticeable time to import.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    limit = physics.max_distance_km(link, protocol, mu, nu)
    top = max(50.0, min(limit * 1.15, 400.0) if math.isfinite(limit) else 400.0)
    distances = np.linspace(0.0, top, 300)
    figure, axes = plt.subplots(figsize=(7.0, 4.5), dpi=120)
    for each in physics.Protocol:
        if each is not physics.Protocol.VACUUM_WEAK and each is not protocol:
            continue
        rates = physics.key_rate_per_pulse(link, distances, each, mu if each is protocol else None)
        shown = np.where(rates > 0, rates, np.nan)
        axes.semilogy(distances, shown, label=f"decoy BB84, {each.value}")
    if protocol is not physics.Protocol.NO_DECOY:
        rates = physics.key_rate_per_pulse(link, distances, physics.Protocol.NO_DECOY)
        axes.semilogy(distances, np.where(rates > 0, rates, np.nan), label="BB84, no decoy")
    plob = physics.plob_bound_for_link(link, distances)
    axes.semilogy(distances, np.where(np.isfinite(plob), plob, np.nan), "k--", label="PLOB bound")
    axes.set_xlabel("fibre length (km)")
    axes.set_ylabel("secret key rate (bits per pulse)")
    axes.set_title(f"Link preset {link.name}")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    try:
        figure.savefig(path, format="png")
    except OSError as error:
        raise InputError(f"cannot write the plot to {path}: {error.strerror}") from None
    finally:
        plt.close(figure)


@qkd_app.command("keyrate")
def keyrate(
    preset: PresetOption = "gys",
    protocol: Annotated[
        str, typer.Option(help="infinite-decoy, vacuum-weak or no-decoy.")
    ] = "infinite-decoy",
    mu: Annotated[
        float | None, typer.Option(help="Signal intensity (default: the optimum per distance).")
    ] = None,
    nu: Annotated[float, typer.Option(help="Weak decoy intensity (vacuum-weak).")] = 0.05,
    distance_km: Annotated[
        list[float] | None, typer.Option("--distance-km", help="Fibre length; repeatable.")
    ] = None,
    sweep: Annotated[
        str | None, typer.Option(help="Distances START:STOP:STEP in km.", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Write a PNG of rate against distance with PLOB.")
    ] = None,
) -> None:
    """Asymptotic secret key rate of decoy-state BB84 over a preset link."""
    link = physics.preset(preset)
    chosen = physics.Protocol(protocol) if protocol in set(physics.Protocol) else None
    if chosen is None:
        known = ", ".join(p.value for p in physics.Protocol)
        raise InputError(f"unknown protocol {protocol!r}; known: {known}")
    distances: list[float] = list(distance_km or [])
    if sweep is not None:
        distances.extend(_sweep(sweep))
    if not distances:
        distances = list(DEFAULT_DISTANCES_KM)
    rows = keyrate_rows(link, distances, chosen, mu, nu)
    if plot is not None:
        _plot(plot, link, chosen, mu, nu)
    if as_json:
        document = {
            "preset": link.name,
            "source": link.source,
            "protocol": chosen.value,
            "nu": nu if chosen is physics.Protocol.VACUUM_WEAK else None,
            "max_distance_km": _none_if_infinite(physics.max_distance_km(link, chosen, mu, nu)),
            "rows": rows,
        }
        typer.echo(json.dumps(document, indent=2))
        return
    table = Table(title=f"{link.name}: {chosen.value} BB84 ({link.source})", title_justify="left")
    for header in ("distance km", "mu", "QBER", "bits/pulse", "bit/s", "PLOB bits/pulse"):
        table.add_column(header, justify="right")
    for row in rows:
        plob = row["plob_per_pulse"]
        table.add_row(
            f"{row['distance_km']:g}",
            f"{row['mu']:.3f}",
            f"{row['qber']:.2%}",
            f"{row['rate_per_pulse']:.4e}",
            f"{row['rate_bps']:.4g}",
            "inf" if plob is None else f"{plob:.4e}",
        )
    stdout.print(table)
    limit = physics.max_distance_km(link, chosen, mu, nu)
    stdout.print(f"maximum distance: {limit:.1f} km", markup=False)
    if plot is not None:
        stdout.print(f"plot written to {plot}", markup=False)


def _print_report(report: LinkReport) -> None:
    table = Table(title=f"QKD block over {report.preset}, {report.distance_km:g} km")
    table.add_column("stage")
    table.add_column("result", justify="right")
    rows = [
        ("pulses sent", f"{report.pulses:,}"),
        ("eavesdropper", report.eavesdropper),
        ("detections (double clicks)", f"{report.detections:,} ({report.double_clicks:,})"),
        ("sifted key bits (X basis)", f"{report.sifted_bits:,}"),
        ("test bits (Z basis)", f"{report.test_bits:,}"),
        ("QBER estimated on test bits", f"{report.qber_estimate:.2%}"),
        ("certified single-photon bits", f"{report.single_photon_bits:,.0f}"),
        ("phase error (upper bound)", f"{report.phase_error_upper:.2%}"),
        ("QBER of the key", f"{report.qber:.2%}"),
        ("bits leaked by Cascade + verification", f"{report.leaked_bits:,}"),
        ("reconciliation efficiency f_EC", f"{report.f_ec:.3f}"),
        (
            f"authentication ({report.authentication})",
            f"{report.authentication_key_bits} key bits, {report.authentication_bytes:,} bytes",
        ),
        ("secret key bits", f"{report.secret_bits:,}"),
        ("secret key rate", f"{report.secret_key_rate_bps:,.1f} bit/s"),
    ]
    for stage, result in rows:
        table.add_row(stage, result)
    stdout.print(table)
    if report.aborted:
        stdout.print(f"ABORTED: {report.abort_reason}", markup=False)


@qkd_app.command("run")
def run(
    preset: PresetOption = "gys",
    distance_km: Annotated[float, typer.Option("--distance-km", help="Fibre length in km.")] = 25.0,
    pulses: Annotated[str, typer.Option(help="Pulses to send, e.g. 1e9.")] = "1e9",
    eve: Annotated[
        str | None,
        typer.Option(help="Eavesdropper: intercept-resend:FRACTION, pns or noisy:QBER."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (reproducible run).")] = None,
    cascade: Annotated[str, typer.Option(help="Cascade variant: biconf or original.")] = "biconf",
    authentication: Annotated[
        str, typer.Option(help="ml-dsa-44, ml-dsa-65, ml-dsa-87 or wegman-carter.")
    ] = "ml-dsa-65",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Simulate one block of decoy BB84 end to end; exit code 3 when it aborts for security."""
    link = physics.preset(preset)
    count = parse_pulses(pulses)
    attacker = Eavesdropper.parse(eve)
    if cascade not in set(CascadeVariant):
        raise InputError(f"unknown Cascade variant {cascade!r}; known: biconf, original")
    if authentication not in set(AuthenticationMethod):
        known = ", ".join(m.value for m in AuthenticationMethod)
        raise InputError(f"unknown authentication method {authentication!r}; known: {known}")
    if seed is not None and not (0 <= seed < 2**63):
        raise InputError(f"seed must be in [0, 2^63), got {seed}")
    rng = np.random.default_rng(seed)
    with Progress(
        TextColumn("simulating pulses"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    ) as progress:
        task = progress.add_task("pulses", total=count)
        report, _ = run_link(
            link,
            distance_km,
            count,
            rng,
            eve=attacker,
            variant=cascade,
            authentication=authentication,
            seed=seed,
            on_progress=lambda done, total: progress.update(task, completed=done),
        )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)
    report.raise_if_aborted()


def register(app: typer.Typer) -> None:
    app.add_typer(qkd_app, name="qkd")
