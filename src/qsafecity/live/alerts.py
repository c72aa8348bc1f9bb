"""Alerts of the live city: what happened, how bad, and why (the cause an operator acts on)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Final


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Cause(StrEnum):
    """Why an alert was raised; rejections use the first six."""

    DOWNGRADE = "downgrade"
    FORGED_SENDER = "forged-sender"
    TAMPERED = "tampered"
    REPLAYED = "replayed"
    UNKNOWN_STREAM = "unknown-stream"
    MALFORMED = "malformed"
    FLOOD = "flood"
    QBER_ABORT = "qber-abort"
    LINK_CUT = "link-cut"
    LINK_RESTORED = "link-restored"
    QKD_LOST = "qkd-lost"
    QKD_RESTORED = "qkd-restored"
    DRILL = "drill"


#: Causes a gateway counts as rejections of a message.
REJECTION_CAUSES: Final = (
    Cause.DOWNGRADE,
    Cause.FORGED_SENDER,
    Cause.TAMPERED,
    Cause.REPLAYED,
    Cause.UNKNOWN_STREAM,
    Cause.MALFORMED,
)


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    severity: Severity
    cause: Cause
    subject: str
    message: str
    at_s: float

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["cause"] = self.cause.value
        return data


class AlertLog:
    """The most recent alerts in memory, each also passed to ``sink`` (the database)."""

    def __init__(
        self,
        sink: Callable[[Alert], None] | None = None,
        keep: int = 500,
    ) -> None:
        self._alerts: deque[Alert] = deque(maxlen=keep)
        self._sink = sink
        self._lock = threading.Lock()
        self._next_id = 1

    def raise_alert(
        self, severity: Severity, cause: Cause, subject: str, message: str, at_s: float
    ) -> Alert:
        with self._lock:
            alert = Alert(self._next_id, severity, cause, subject, message, at_s)
            self._next_id += 1
            self._alerts.append(alert)
        if self._sink is not None:
            self._sink(alert)
        return alert

    def recent(self, limit: int = 100) -> list[Alert]:
        with self._lock:
            return list(self._alerts)[-limit:]

    def find(self, cause: Cause, subject: str | None = None) -> list[Alert]:
        with self._lock:
            return [
                a
                for a in self._alerts
                if a.cause is cause and (subject is None or a.subject == subject)
            ]
