"""``qsafecity up`` (the live city and its dashboard) and ``qsafecity drill`` (incidents)."""

from __future__ import annotations

import json
import math
import signal
import threading
from typing import Annotated, Any

import httpx
import typer

from qsafecity.cli.city import CityArgument
from qsafecity.errors import InputError, QSafeCityError
from qsafecity.live.options import DEFAULT_PORT, FLOOD_MESSAGES, QKDScope
from qsafecity.manifests import load_city

drill_app = typer.Typer(
    help="Trigger an incident in a running `qsafecity up` (through its HTTP API).",
    no_args_is_help=True,
)

UrlOption = Annotated[
    str,
    typer.Option("--url", help="The dashboard of the running city."),
]
_DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


def up(
    city: CityArgument = None,
    db: Annotated[
        str | None,
        typer.Option(help="Database URL (postgresql://...); default: a new SQLite file."),
    ] = None,
    mqtt: Annotated[
        str | None,
        typer.Option(help="MQTT broker (mqtt://127.0.0.1:1883); default: an embedded broker."),
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per wall second (QKD key, rekeying, alerts).")
    ] = 1.0,
    host: Annotated[str, typer.Option(help="Address of the dashboard (loopback only).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port of the dashboard; 0 picks a free one.")] = (
        DEFAULT_PORT
    ),
    qkd: Annotated[
        QKDScope,
        typer.Option(
            help="QKD on the planner's links (default), the manifest's QKD links only, or also "
            "on every dark fibre (what-if)."
        ),
    ] = QKDScope.PLAN,
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds and print a summary (default: Ctrl-C)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulation's random numbers.")] = 2026,
) -> None:
    """Run the city: QKD links, KMEs, protected sensor traffic, gateways and the dashboard."""
    if duration is not None and not (0.0 < duration <= 7 * 86_400.0 and math.isfinite(duration)):
        raise InputError(f"--duration must be in (0, 604800] seconds, got {duration}")
    manifest = load_city(city)
    # Imported here: the live city pulls in MQTT, FastAPI, SQLAlchemy and the QKD engine, which
    # no other command needs at start-up.
    from qsafecity.live.runner import LiveRunner, UpOptions  # noqa: PLC0415

    runner = LiveRunner(
        manifest,
        UpOptions(
            db_url=db, mqtt_url=mqtt, speed=speed, host=host, port=port, scope=qkd, seed=seed
        ),
    )
    runner.start()
    assert runner.city is not None
    typer.echo(
        f"qsafecity up: {manifest.city.name} with {len(runner.city.links)} QKD links, "
        f"{len(runner.city.gateways)} gateways and {len(runner.city.fleet.devices)} devices"
    )
    typer.echo(f"dashboard: {runner.url}")
    typer.echo(f"MQTT: {runner.mqtt_url}   database: {runner.store.url if runner.store else ''}")
    kmes = runner.city.keys
    typer.echo(
        f"KMEs (ETSI 014 on loopback): {len(kmes.kmes)} ({kmes.databases.describe()}): "
        + ", ".join(f"{site} {url}" for site, url in kmes.urls.items())
    )
    if runner.city.links:
        example = runner.city.links[0].id
        typer.echo(f"drills: qsafecity drill eavesdrop --link {example} --url {runner.url}")
    typer.echo("Ctrl-C stops")
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a service manager stopping the city) stops as cleanly as Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: runner.stopping.set())
    try:
        runner.run_for(duration)
    except KeyboardInterrupt:
        typer.echo("stopping…")
    finally:
        runner.stop()
    summary = runner.summary()
    typer.echo("summary: " + ", ".join(f"{key} {value}" for key, value in summary.items()))


def _post(url: str, drill: str, body: dict[str, Any]) -> None:
    target = url.rstrip("/") + f"/api/drills/{drill}"
    try:
        response = httpx.post(target, json=body, timeout=30.0)
    except httpx.HTTPError as error:
        raise QSafeCityError(
            f"no running city at {url} ({type(error).__name__}); start it with `qsafecity up`"
        ) from None
    try:
        payload = response.json()
    except json.JSONDecodeError:
        raise QSafeCityError(f"{url} answered {response.status_code} without JSON") from None
    if response.status_code in (400, 422):
        detail = payload.get("detail") if isinstance(payload, dict) else payload
        if isinstance(detail, list):
            detail = "; ".join(
                str(item.get("msg", item)) for item in detail if isinstance(item, dict)
            )
        raise InputError(str(detail))
    if response.status_code != 200:
        raise QSafeCityError(f"{url} refused the drill ({response.status_code}): {payload}")
    typer.echo(f"{payload['drill']} on {payload['target']}: {payload['message']}")


@drill_app.command("eavesdrop")
def eavesdrop(
    link: Annotated[str, typer.Option("--link", help="QKD link A-B.")],
    fraction: Annotated[
        float, typer.Option(help="Fraction of pulses intercepted and resent (0..1).")
    ] = 1.0,
    url: UrlOption = _DEFAULT_URL,
) -> None:
    """Put an intercept-resend eavesdropper on a QKD link."""
    if not 0.0 <= fraction <= 1.0:
        raise InputError(f"--fraction must be in [0, 1], got {fraction}")
    _post(url, "eavesdrop", {"link": link, "fraction": fraction})


@drill_app.command("cut")
def cut(
    link: Annotated[str, typer.Option("--link", help="QKD link A-B.")],
    url: UrlOption = _DEFAULT_URL,
) -> None:
    """Cut the fibre of a QKD link."""
    _post(url, "cut", {"link": link})


@drill_app.command("clear")
def clear(
    link: Annotated[str, typer.Option("--link", help="QKD link A-B.")],
    url: UrlOption = _DEFAULT_URL,
) -> None:
    """Remove the eavesdropper and repair the fibre of a QKD link."""
    _post(url, "clear", {"link": link})


@drill_app.command("flood")
def flood(
    service: Annotated[str, typer.Option("--service", help="Service id.")],
    count: Annotated[int, typer.Option(help="Messages to send (1..10000).")] = FLOOD_MESSAGES,
    url: UrlOption = _DEFAULT_URL,
) -> None:
    """Flood a service's gateway with replayed, tampered and forged messages."""
    if not 1 <= count <= 10_000:
        raise InputError(f"--count must be in [1, 10000], got {count}")
    _post(url, "flood", {"service": service, "count": count})


@drill_app.command("downgrade")
def downgrade(
    service: Annotated[str, typer.Option("--service", help="Service id.")],
    url: UrlOption = _DEFAULT_URL,
) -> None:
    """Have a device of the service offer weaker protection than its tier demands."""
    _post(url, "downgrade", {"service": service})


def register(app: typer.Typer) -> None:
    app.command("up")(up)
    app.add_typer(drill_app, name="drill")
