"""Real local servers for the inventory tests, all on 127.0.0.1 and free ports.

* ``PythonTLSServer``: Python's ``ssl`` (the system OpenSSL) with a chosen certificate and versions.
* ``OpenSSLServer``: ``openssl s_server`` with a chosen list of groups.
* ``ScriptedServer``: a socket server that answers each connection with a function of what the
  client sent. It stands in for a hybrid-capable TLS server (answering a real HelloRetryRequest
  naming X25519MLKEM768) on machines whose OpenSSL has no ML-KEM group, and plays the non-TLS,
  garbage-answering and silent servers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from qsafecity.inventory.tls_wire import (
    GROUP_CODES,
    build_hello_retry_request,
    parse_client_hello_offer,
)

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        return int(probe.getsockname()[1])


def write_certificate(
    folder: Path,
    *,
    key_kind: str = "rsa-2048",
    days: int = 365,
    name: str = "test.qsafecity.invalid",
) -> tuple[Path, Path]:
    """A self-signed certificate and key as PEM files (``rsa-2048``, ``rsa-1024``, ``p256``, ``p384``)."""
    if key_kind.startswith("rsa-"):
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = rsa.generate_private_key(
            65537, int(key_kind.removeprefix("rsa-"))
        )
    elif key_kind == "p256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif key_kind == "p384":
        key = ec.generate_private_key(ec.SECP384R1())
    else:
        raise ValueError(key_kind)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    not_after = now + dt.timedelta(days=days)
    not_before = min(now - dt.timedelta(days=1), not_after - dt.timedelta(days=1))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    stem = f"{key_kind}-{days}"
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _AcceptLoop:
    """Accepts connections on a listening socket in a thread and hands each to ``handle``."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self._listener = socket.socket()
        self._listener.bind((LOCALHOST, 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._handle = handle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError, ssl.SSLError):
            connection.settimeout(5)
            self._handle(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._listener.close()


@contextlib.contextmanager
def python_tls_server(
    cert: Path,
    key: Path,
    *,
    minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    maximum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3,
    ciphers: str | None = None,
) -> Iterator[int]:
    """A TLS server of Python's ``ssl``; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.minimum_version = minimum
    context.maximum_version = maximum
    if ciphers is not None:
        context.set_ciphers(ciphers)

    def handle(connection: socket.socket) -> None:
        with context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(1)

    loop = _AcceptLoop(handle)
    try:
        yield loop.port
    finally:
        loop.close()


@contextlib.contextmanager
def scripted_server(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A server that runs ``answer`` on each connection; yields its port."""
    loop = _AcceptLoop(answer)
    try:
        yield loop.port
    finally:
        loop.close()


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


@contextlib.contextmanager
def openssl_server(cert: Path, key: Path, *extra: str) -> Iterator[int]:
    """``openssl s_server`` with extra arguments (e.g. ``-groups X25519``); yields its port."""
    port = free_port()
    with subprocess.Popen(
        [
            "openssl",
            "s_server",
            "-accept",
            f"{LOCALHOST}:{port}",
            "-cert",
            str(cert),
            "-key",
            str(key),
            "-quiet",
            *extra,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    ) as process:
        yield from _run_openssl(process, port)


def _run_openssl(process: subprocess.Popen[bytes], port: int) -> Iterator[int]:
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"openssl s_server exited: {error}")
            with contextlib.suppress(OSError), socket.create_connection((LOCALHOST, port), 0.2):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("openssl s_server did not start")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def hybrid_server(connection: socket.socket) -> None:
    """Answers like a server whose groups are X25519MLKEM768 then X25519 (RFC 8446 §4.1.4)."""
    data = b""
    while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
        chunk = connection.recv(4096)
        if not chunk:
            return
        data += chunk
    groups, suites, session_id = parse_client_hello_offer(data)
    for supported in (GROUP_CODES["X25519MLKEM768"], GROUP_CODES["X25519"]):
        if supported in groups:
            suite = (
                next(s for s in (0x1302, 0x1301, 0x1303) if s in suites)
                if set(suites) & {0x1301, 0x1302, 0x1303}
                else None
            )
            if suite is None:
                break
            connection.sendall(
                build_hello_retry_request(supported, cipher_suite=suite, session_id=session_id)
            )
            return
    connection.sendall(b"\x15\x03\x03\x00\x02\x02\x28")  # handshake_failure
