"""Scanning many endpoints: parsing targets, the targets file, concurrency under a rate limit.

A city manifest names sites, not addresses, so ``scan --city`` needs a *targets file* that maps
service ids to ``host:port`` endpoints (``docs/inventory.md``)::

    # targets.yaml
    format: 1
    targets:
      video-surveillance: ["vms.city.example:443", "10.20.0.5:8443"]
      emergency-dispatch: ["112.city.example:443"]

Every service id must exist in the city; every endpoint must parse. Problems are reported all at
once as an ``InputError``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from qsafecity.city import CityManifest
from qsafecity.city.loader import parse_document
from qsafecity.errors import InputError, ManifestError
from qsafecity.inventory.probe import ProbeSettings, scan_endpoint
from qsafecity.inventory.results import EndpointScan

#: The port of HTTPS, assumed when a target gives none.
DEFAULT_PORT: Final = 443
#: A targets file larger than this is not a city's list of endpoints.
MAX_TARGETS_BYTES: Final = 4 * 1024 * 1024
MAX_TARGETS: Final = 100_000
#: RFC 1035: a host name is at most 253 characters.
_MAX_HOST_CHARS: Final = 253
_MAX_LABEL_CHARS: Final = 63
_HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_IPV6 = re.compile(r"^[0-9A-Fa-f:.]+$")
_PORT = re.compile(r"^[0-9]{1,5}$")


@dataclass(frozen=True, slots=True)
class Target:
    """One endpoint to scan, and the service it belongs to when known."""

    host: str
    port: int
    service_id: str | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_target(text: str, service_id: str | None = None) -> Target:
    """Parse ``host``, ``host:port``, ``[v6]:port`` or ``[v6]``; ``ValueError`` says what is wrong."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty target")
    if raw.startswith("["):
        close = raw.find("]")
        if close < 0:
            raise ValueError(f"{text!r}: unclosed '[' in an IPv6 address")
        host, rest = raw[1:close], raw[close + 1 :]
        if not _IPV6.match(host):
            raise ValueError(f"{text!r}: not an IPv6 address")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r}: expected ':port' after ']'")
        port_text = rest[1:] if rest else ""
    elif raw.count(":") > 1:
        raise ValueError(f"{text!r}: write IPv6 addresses in brackets, e.g. [::1]:443")
    else:
        host, _, port_text = raw.partition(":")
        if ":" in raw and not port_text:
            raise ValueError(f"{text!r}: empty port")
        labels = host.split(".")
        if (
            len(host) > _MAX_HOST_CHARS
            or not _HOST_NAME.match(host)
            or any(not label or len(label) > _MAX_LABEL_CHARS for label in labels)
        ):
            raise ValueError(f"{text!r}: not a host name or IPv4 address")
    if port_text:
        if not _PORT.match(port_text):
            raise ValueError(f"{text!r}: port must be a number 1-65535")
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise ValueError(f"{text!r}: port must be a number 1-65535")
    else:
        port = DEFAULT_PORT
    return Target(host=host, port=port, service_id=service_id)


def parse_targets(texts: Sequence[str]) -> list[Target]:
    """Parse command-line targets, reporting every bad one at once."""
    targets, problems = [], []
    for text in texts:
        try:
            targets.append(parse_target(text))
        except ValueError as error:
            problems.append(str(error))
    if problems:
        raise InputError("bad targets:\n  " + "\n  ".join(problems))
    if not targets:
        raise InputError("no targets: give HOST:PORT arguments or --city with --targets")
    return targets


def load_targets_text(text: str, source: str, city: CityManifest) -> list[Target]:
    """Targets of a city from the text of a targets file (see the module docstring)."""
    if len(text) > MAX_TARGETS_BYTES:
        raise InputError(f"{source}: larger than {MAX_TARGETS_BYTES} bytes")
    try:
        # The manifest's hardened parser: no YAML aliases, no duplicate keys.
        document = parse_document(text, source)
    except ManifestError as error:
        reasons = "; ".join(p.message for p in error.problems)
        raise InputError(
            f"{source}: not a targets file (a mapping with 'format' and 'targets'): {reasons}"
        ) from None
    problems: list[str] = []
    unknown_keys = sorted(str(k) for k in document if k not in ("format", "targets"))
    if unknown_keys:
        problems.append(f"unknown keys {unknown_keys}")
    if document.get("format") != 1:
        problems.append(f"format: must be 1 (got {document.get('format')!r})")
    mapping = document.get("targets")
    targets: list[Target] = []
    if not isinstance(mapping, Mapping) or not mapping:
        problems.append("targets: must map service ids to lists of host:port")
        mapping = {}
    for service_id, endpoints in mapping.items():
        if not isinstance(service_id, str) or service_id not in city.services_by_id:
            problems.append(f"targets.{service_id}: no service has this id in {city.city.name}")
            continue
        listed = [endpoints] if isinstance(endpoints, str) else endpoints
        if not isinstance(listed, list) or not listed:
            problems.append(f"targets.{service_id}: must be a non-empty list of host:port")
            continue
        for position, endpoint in enumerate(listed):
            if not isinstance(endpoint, str):
                problems.append(f"targets.{service_id}[{position}]: must be a string host:port")
                continue
            try:
                targets.append(parse_target(endpoint, service_id))
            except ValueError as error:
                problems.append(f"targets.{service_id}[{position}]: {error}")
    if len(targets) > MAX_TARGETS:
        problems.append(f"more than {MAX_TARGETS} targets")
    if problems:
        raise InputError(f"{source}: {len(problems)} problems:\n  " + "\n  ".join(problems))
    return targets


def scan_targets(
    targets: Sequence[Target],
    settings: ProbeSettings,
    *,
    now: dt.datetime,
    concurrency: int = 8,
    on_done: Callable[[EndpointScan], None] | None = None,
) -> list[EndpointScan]:
    """Scan ``targets`` with ``concurrency`` threads; results come back in the targets' order.

    The rate limit lives in ``settings.limiter`` and spaces every connection of every thread, so
    concurrency hides latency without raising the load on the city's servers above the limit.
    ``on_done`` is called (from worker threads) as each endpoint finishes, for a progress bar.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")

    def one(target: Target) -> EndpointScan:
        scan = scan_endpoint(
            target.host, target.port, settings, now=now, service_id=target.service_id
        )
        if on_done is not None:
            on_done(scan)
        return scan

    if concurrency == 1 or len(targets) <= 1:
        return [one(t) for t in targets]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(targets))) as pool:
        return list(pool.map(one, targets))
