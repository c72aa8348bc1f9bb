"""Probing one TLS endpoint (the I/O edge of the inventory).

Two instruments, each for what it can see:

* Python's ``ssl`` module (the system OpenSSL) performs real handshakes, one per protocol version,
  and returns the negotiated cipher suite and the certificate chain.
* The ClientHello probe of :mod:`qsafecity.inventory.tls_wire` asks a TLS 1.3 server about one
  key-exchange group at a time, including the post-quantum hybrids no OpenSSL 3.0 (and no
  sslyze 6.3) can offer.

sslyze would be the maintained library for the first part, but sslyze 6.3 requires
``cryptography < 47`` and this project requires ``cryptography >= 50``; we do not downgrade the
library every cryptographic primitive of the project comes from, so ``ssl`` does that part.

Every network condition (refused, timeout, reset, not TLS, garbage) is returned as a value, never
raised: a scan of a city must go on past a broken endpoint and report it.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from qsafecity.inventory.certificates import CertificateFacts, describe_certificate
from qsafecity.inventory.observe import observed_key_exchange
from qsafecity.inventory.results import (
    EndpointScan,
    EndpointStatus,
    Finding,
    GroupSupport,
    ProtocolVersionResult,
    Severity,
)
from qsafecity.inventory.tls_wire import (
    CLASSICAL_GROUPS,
    GROUP_CODES,
    GROUP_NAMES,
    POST_QUANTUM_GROUPS,
    TLS13_CIPHER_SUITES,
    AnswerKind,
    ServerAnswer,
    build_client_hello,
    is_ip_literal,
    parse_server_answer,
)

#: Protocol versions tried with a full handshake, newest first.
_VERSIONS: Final = (
    ("TLSv1.3", ssl.TLSVersion.TLSv1_3),
    ("TLSv1.2", ssl.TLSVersion.TLSv1_2),
    ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
    ("TLSv1.0", ssl.TLSVersion.TLSv1),
)
#: TLS 1.2 ECDHE curves as OpenSSL names them, with the registry's key-exchange names.
_TLS12_CURVES: Final = (
    ("X25519", "X25519"),
    ("prime256v1", "ECDHE-P256"),
    ("secp384r1", "ECDHE-P384"),
)
#: OpenSSL curve names as pyca's ``curve.name`` spells them.
_PYCA_CURVE_NAMES: Final = {"prime256v1": "secp256r1"}
_READ_CHUNK: Final = 4096
#: Certificates shorter than this are suspicious but possible; longer than this is garbage.
_MAX_CHAIN_CERTIFICATES: Final = 10
#: A certificate that expires within this many days is a finding.
EXPIRY_WARNING_DAYS: Final = 30


class ConnectionState(StrEnum):
    """How one probe connection ended before any TLS parsing."""

    ANSWERED = "answered"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    CLOSED = "closed"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """One ClientHello probe: the connection's fate, and the parsed answer when there was one."""

    state: ConnectionState
    answer: ServerAnswer | None = None
    detail: str = ""


class RateLimiter:
    """Spaces the start of connections at least ``1 / per_second`` apart, across threads.

    ``clock`` and ``sleep`` are injectable so that tests need not wait.
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not per_second > 0:
            raise ValueError("the rate must be positive")
        self.interval_s = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval_s
        if start > now:
            self._sleep(start - now)


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """Knobs of a scan. ``timeout_s`` bounds each connection's connect and each read."""

    timeout_s: float = 3.0
    probe_groups: tuple[str, ...] = POST_QUANTUM_GROUPS + CLASSICAL_GROUPS
    limiter: RateLimiter | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        unknown = [g for g in self.probe_groups if g not in GROUP_CODES]
        if unknown:
            raise ValueError(f"unknown groups {unknown}")


def send_client_hello(host: str, port: int, hello: bytes, settings: ProbeSettings) -> ProbeOutcome:
    """Send ``hello`` to ``host:port`` and parse the answer up to its first message."""
    if settings.limiter is not None:
        settings.limiter.wait()
    try:
        connection = socket.create_connection((host, port), timeout=settings.timeout_s)
    except ConnectionRefusedError:
        return ProbeOutcome(ConnectionState.REFUSED, detail="connection refused")
    except TimeoutError:
        return ProbeOutcome(ConnectionState.TIMEOUT, detail="connect timed out")
    except OSError as error:
        return ProbeOutcome(ConnectionState.UNREACHABLE, detail=_os_error_text(error))
    received = b""
    with connection:
        try:
            connection.sendall(hello)
            while True:
                chunk = connection.recv(_READ_CHUNK)
                if not chunk:
                    break
                received += chunk
                answer = parse_server_answer(received)
                if answer.kind is not AnswerKind.INCOMPLETE:
                    return ProbeOutcome(ConnectionState.ANSWERED, answer)
        except TimeoutError:
            if received:
                return ProbeOutcome(
                    ConnectionState.ANSWERED,
                    ServerAnswer(AnswerKind.MALFORMED, detail="answer stopped mid-message"),
                )
            return ProbeOutcome(ConnectionState.TIMEOUT, detail="no answer to the ClientHello")
        except OSError as error:  # reset by peer and the like
            if not received:
                return ProbeOutcome(ConnectionState.CLOSED, detail=_os_error_text(error))
    if not received:
        return ProbeOutcome(ConnectionState.CLOSED, detail="closed without answering")
    return ProbeOutcome(
        ConnectionState.ANSWERED,
        ServerAnswer(AnswerKind.MALFORMED, detail="connection closed mid-message"),
    )


def _os_error_text(error: OSError) -> str:
    return error.strerror or type(error).__name__


def probe_group(host: str, port: int, group: str, settings: ProbeSettings) -> GroupSupport:
    """Whether a TLS 1.3 server accepts the key-exchange ``group`` (registry name)."""
    code = GROUP_CODES[group]
    outcome = send_client_hello(host, port, build_client_hello((code,), server_name=host), settings)
    answer = outcome.answer
    if answer is None:
        return GroupSupport.INCONCLUSIVE
    if answer.kind in (AnswerKind.HELLO_RETRY_REQUEST, AnswerKind.SERVER_HELLO):
        return GroupSupport.ACCEPTED if answer.selected_group == code else GroupSupport.INCONCLUSIVE
    if answer.kind is AnswerKind.ALERT:
        return GroupSupport.REJECTED
    return GroupSupport.INCONCLUSIVE


def _handshake(
    host: str,
    port: int,
    label: str,
    version: ssl.TLSVersion,
    settings: ProbeSettings,
    *,
    curve: str | None = None,
) -> tuple[ProtocolVersionResult, list[bytes]]:
    with warnings.catch_warnings():
        # TLS 1.0 and 1.1 are deprecated in ``ssl``; here we must offer them to see who still does.
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # we inventory certificates, we do not trust them
        context.minimum_version = version
        context.maximum_version = version
    if version <= ssl.TLSVersion.TLSv1_2:
        # Python's default list leaves out RSA key transport, CBC and SHA-1 suites; an inventory
        # must offer everything to see what the server still accepts.
        context.set_ciphers("ALL:@SECLEVEL=0")
    if curve is not None:
        context.set_ecdh_curve(curve)
    if settings.limiter is not None:
        settings.limiter.wait()
    server_name = None if is_ip_literal(host) else host
    try:
        with (
            socket.create_connection((host, port), timeout=settings.timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            cipher = tls.cipher()
            chain = _chain_der(tls)
            return ProtocolVersionResult(
                version=label, supported=True, cipher_suite=cipher[0] if cipher else None
            ), chain
    except (ssl.SSLError, OSError) as error:
        return ProtocolVersionResult(
            version=label, supported=False, error=_ssl_error_text(error)
        ), []


def _ssl_error_text(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError):
        return error.reason or str(error)
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError):
        return _os_error_text(error)
    return f"{type(error).__name__}: {error}"


def _chain_der(tls: ssl.SSLSocket) -> list[bytes]:
    """The chain the server sent, leaf first (``get_unverified_chain`` is public from 3.13)."""
    ssl_object = getattr(tls, "_sslobj", None)
    getter = getattr(ssl_object, "get_unverified_chain", None)
    if getter is not None:
        try:
            chain = getter() or []
            return [c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain][:_MAX_CHAIN_CERTIFICATES]  # type: ignore[attr-defined]
        except (ssl.SSLError, ValueError, AttributeError):
            pass
    leaf = tls.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def scan_endpoint(
    host: str,
    port: int,
    settings: ProbeSettings,
    *,
    now: dt.datetime,
    service_id: str | None = None,
) -> EndpointScan:
    """Probe ``host:port``: reachability, TLS versions, groups, cipher suites, certificates."""
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    base = {
        "target": target,
        "host": host,
        "port": port,
        "service_id": service_id,
        "scanned_at": now,
    }
    try:
        build_client_hello((GROUP_CODES["X25519"],), server_name=host)
    except ValueError:
        return EndpointScan(
            **base,
            status=EndpointStatus.UNREACHABLE,
            findings=(
                Finding(
                    code="unreachable",
                    severity=Severity.MEDIUM,
                    message="the host name cannot be encoded for TLS (IDNA)",
                ),
            ),
        )
    # First probe: every group at once, post-quantum first. It tells whether anything speaks TLS
    # there, whether TLS 1.3 is on, and which group the server prefers.
    all_codes = tuple(GROUP_CODES[g] for g in settings.probe_groups)
    first = send_client_hello(host, port, build_client_hello(all_codes, server_name=host), settings)
    unreachable = _unreachable(first)
    if unreachable is not None:
        status, finding = unreachable
        return EndpointScan(**base, status=status, findings=(finding,))
    assert first.answer is not None  # _unreachable returns a value for every other case
    findings: list[Finding] = []
    tls13 = (
        first.answer.kind in (AnswerKind.HELLO_RETRY_REQUEST, AnswerKind.SERVER_HELLO)
        and first.answer.selected_version == 0x0304
    )
    groups: dict[str, GroupSupport] = {}
    preferred: str | None = None
    suites: list[str] = []
    if tls13:
        code = first.answer.selected_group
        preferred = GROUP_NAMES.get(code) if code is not None else None
        for group in settings.probe_groups:
            groups[group] = probe_group(host, port, group, settings)
        suites = _tls13_suites(host, port, settings, preferred)
    versions: list[ProtocolVersionResult] = []
    chain: list[bytes] = []
    for label, version in _VERSIONS:
        result, der_chain = _handshake(host, port, label, version, settings)
        versions.append(result)
        if der_chain and not chain:
            chain = der_chain
    if not tls13 and any(v.version == "TLSv1.2" and v.supported for v in versions):
        groups.update(_tls12_curves(host, port, settings, chain))
    if not tls13 and any(v.version == "TLSv1.3" and v.supported for v in versions):
        answer = first.answer
        said = answer.alert_name or answer.kind.value
        findings.append(
            Finding(
                code="group-probe-refused",
                severity=Severity.LOW,
                message=(
                    f"TLS 1.3 works but the server refused the group probe ({said}): "
                    "its key-exchange groups, post-quantum or not, are unknown"
                ),
            )
        )
    if not any(v.supported for v in versions):
        findings.append(
            Finding(
                code="no-handshake",
                severity=Severity.HIGH,
                message=f"answers like TLS but completes no handshake ({_first_error(versions)})",
            )
        )
    certificates = tuple(_certificates(chain, findings))
    scan = EndpointScan(
        **base,
        status=EndpointStatus.TLS,
        versions=tuple(versions),
        groups=groups,
        preferred_group=preferred,
        tls13_cipher_suites=tuple(suites),
        certificates=certificates,
    )
    findings.extend(judge_endpoint(scan, now))
    return scan.model_copy(update={"findings": tuple(findings)})


def _tls12_curves(
    host: str, port: int, settings: ProbeSettings, chain: list[bytes]
) -> dict[str, GroupSupport]:
    """TLS 1.2 ECDHE curves, one handshake per curve offered alone.

    In TLS 1.2 the client's curve list also limits which ECDSA certificates a server may use
    (RFC 8422 §5.1), so with an ECDSA certificate a refusal of another curve proves nothing: such
    a refusal is recorded as inconclusive.
    """
    leaf_curve = None
    if chain:
        try:
            leaf_curve = describe_certificate(chain[0]).curve
        except ValueError:
            leaf_curve = None
    verdicts = {}
    for curve, name in _TLS12_CURVES:
        result, _ = _handshake(host, port, "TLSv1.2", ssl.TLSVersion.TLSv1_2, settings, curve=curve)
        if result.supported:
            verdicts[name] = GroupSupport.ACCEPTED
        elif leaf_curve is not None and leaf_curve != _PYCA_CURVE_NAMES.get(curve, curve):
            verdicts[name] = GroupSupport.INCONCLUSIVE
        else:
            verdicts[name] = GroupSupport.REJECTED
    return verdicts


def _first_error(versions: list[ProtocolVersionResult]) -> str:
    for version in versions:
        if version.error:
            return version.error
    return "no version accepted"


def _unreachable(outcome: ProbeOutcome) -> tuple[EndpointStatus, Finding] | None:
    state = outcome.state
    if state is ConnectionState.REFUSED:
        return EndpointStatus.REFUSED, Finding(
            code="connection-refused", severity=Severity.MEDIUM, message="connection refused"
        )
    if state is ConnectionState.TIMEOUT:
        return EndpointStatus.TIMEOUT, Finding(
            code="timeout", severity=Severity.MEDIUM, message=outcome.detail or "timed out"
        )
    if state is ConnectionState.UNREACHABLE:
        return EndpointStatus.UNREACHABLE, Finding(
            code="unreachable", severity=Severity.MEDIUM, message=outcome.detail
        )
    if state is ConnectionState.CLOSED:
        return EndpointStatus.CLOSED, Finding(
            code="closed-without-answer",
            severity=Severity.MEDIUM,
            message=f"the server closed the connection without a TLS answer ({outcome.detail})",
        )
    answer = outcome.answer
    if answer is None:  # pragma: no cover - ANSWERED always carries an answer
        return EndpointStatus.MALFORMED, Finding(
            code="garbage", severity=Severity.HIGH, message="no answer"
        )
    if answer.kind is AnswerKind.NOT_TLS:
        return EndpointStatus.NOT_TLS, Finding(
            code="not-tls",
            severity=Severity.HIGH,
            message=f"the service does not speak TLS: {answer.detail}",
        )
    if answer.kind is AnswerKind.MALFORMED:
        return EndpointStatus.MALFORMED, Finding(
            code="garbage",
            severity=Severity.HIGH,
            message=f"the answer is not valid TLS: {answer.detail}",
        )
    return None


def _tls13_suites(host: str, port: int, settings: ProbeSettings, group: str | None) -> list[str]:
    """The TLS 1.3 cipher suites the server accepts, one HelloRetryRequest per suite."""
    if group is None:
        return []
    accepted = []
    for code, name in TLS13_CIPHER_SUITES.items():
        hello = build_client_hello((GROUP_CODES[group],), server_name=host, cipher_suites=(code,))
        outcome = send_client_hello(host, port, hello, settings)
        answer = outcome.answer
        if (
            answer is not None
            and answer.kind in (AnswerKind.HELLO_RETRY_REQUEST, AnswerKind.SERVER_HELLO)
            and answer.cipher_suite == code
        ):
            accepted.append(name)
    return accepted


def _certificates(chain: list[bytes], findings: list[Finding]) -> list[CertificateFacts]:
    facts = []
    for position, der in enumerate(chain):
        try:
            facts.append(describe_certificate(der))
        except ValueError as error:
            findings.append(
                Finding(
                    code="unparsable-certificate",
                    severity=Severity.MEDIUM,
                    message=f"certificate {position} of the chain cannot be parsed: {error}",
                )
            )
    return facts


def judge_endpoint(scan: EndpointScan, now: dt.datetime) -> list[Finding]:
    """Findings about a TLS endpoint's quantum safety and hygiene (pure: reads only ``scan``)."""
    findings: list[Finding] = []
    supported = set(scan.supported_versions)
    legacy = sorted(supported & {"TLSv1.0", "TLSv1.1"})
    if legacy:
        findings.append(
            Finding(
                code="legacy-protocol",
                severity=Severity.HIGH,
                message=f"accepts {', '.join(legacy)} (deprecated by RFC 8996)",
            )
        )
    if supported and "TLSv1.3" not in supported:
        findings.append(
            Finding(
                code="no-tls13",
                severity=Severity.HIGH,
                message="no TLS 1.3: no post-quantum key exchange is possible",
            )
        )
    accepted = set(scan.accepted_groups)
    post_quantum = sorted(accepted & set(POST_QUANTUM_GROUPS))
    if post_quantum:
        findings.append(
            Finding(
                code="post-quantum-key-exchange",
                severity=Severity.INFO,
                message=f"accepts post-quantum groups {', '.join(post_quantum)}",
            )
        )
        classical = sorted(accepted - set(POST_QUANTUM_GROUPS))
        if classical:
            findings.append(
                Finding(
                    code="classical-fallback",
                    severity=Severity.LOW,
                    message=(
                        "still accepts classical groups "
                        f"{', '.join(classical)}: clients without ML-KEM get no quantum protection"
                    ),
                )
            )
    elif supported and (
        any(g in scan.groups for g in POST_QUANTUM_GROUPS) or "TLSv1.3" not in supported
    ):
        # Without group verdicts a TLS 1.3 server's key exchange is unknown (see
        # ``group-probe-refused``); TLS 1.2 cannot carry a post-quantum group at all.
        key_exchange = observed_key_exchange(scan)
        findings.append(
            Finding(
                code="quantum-vulnerable-key-exchange",
                severity=Severity.HIGH,
                message=(
                    f"no post-quantum group accepted (key exchange {key_exchange or 'unknown'}): "
                    "traffic recorded today can be decrypted by a quantum computer"
                ),
            )
        )
    if scan.preferred_group and scan.preferred_group not in POST_QUANTUM_GROUPS and post_quantum:
        findings.append(
            Finding(
                code="classical-preferred",
                severity=Severity.MEDIUM,
                message=f"prefers {scan.preferred_group} over its post-quantum groups",
            )
        )
    if scan.certificates:
        leaf = scan.certificates[0]
        days = leaf.days_left(now)
        if days < 0:
            findings.append(
                Finding(
                    code="certificate-expired",
                    severity=Severity.HIGH,
                    message=f"leaf certificate expired on {leaf.not_after.date().isoformat()}",
                )
            )
        elif days < EXPIRY_WARNING_DAYS:
            findings.append(
                Finding(
                    code="certificate-expires-soon",
                    severity=Severity.MEDIUM,
                    message=f"leaf certificate expires in {days:.0f} days",
                )
            )
        if leaf.key_algorithm == "RSA" and (leaf.key_bits or 0) < 2048:
            findings.append(
                Finding(
                    code="weak-rsa-key",
                    severity=Severity.HIGH,
                    message=f"leaf RSA key of {leaf.key_bits} bits (below 2048)",
                )
            )
        if not leaf.key_algorithm.startswith("ML-DSA"):
            findings.append(
                Finding(
                    code="quantum-vulnerable-certificate",
                    severity=Severity.MEDIUM,
                    message=(
                        f"the server authenticates with {leaf.key_algorithm}"
                        f"{'-' + str(leaf.key_bits) if leaf.key_bits else ''}, "
                        "which a quantum computer can forge"
                    ),
                )
            )
    elif supported:
        findings.append(
            Finding(code="no-certificate", severity=Severity.LOW, message="no certificate received")
        )
    return findings
