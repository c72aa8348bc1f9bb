"""Where the gateways keep what they received: SQLAlchemy over SQLite (default) or PostgreSQL.

Three tables: ``live_readings`` (every reading that opened, once: the key (service, sender,
sequence) is unique and a redelivered message inserts nothing), ``live_rejections`` (every message
refused, with its cause) and ``live_alerts``. Only plaintext readings and public facts are
stored; no key material ever reaches the database.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from qsafecity.errors import InputError, QSafeCityError


class StorageError(QSafeCityError):
    """The live city's database cannot be reached or refused a write."""


class _Base(DeclarativeBase):
    pass


class ReadingRow(_Base):
    __tablename__ = "live_readings"
    __table_args__ = (UniqueConstraint("service_id", "sender", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    sender: Mapped[str] = mapped_column(String(128))
    sequence: Mapped[int] = mapped_column(Integer)
    site: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(32))
    protection: Mapped[str] = mapped_column(String(64))
    qkd_key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    simulated_at_s: Mapped[float] = mapped_column(Float)
    stored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RejectionRow(_Base):
    __tablename__ = "live_rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(64), index=True)
    sender: Mapped[str] = mapped_column(String(128))
    site: Mapped[str] = mapped_column(String(64))
    cause: Mapped[str] = mapped_column(String(32))
    simulated_at_s: Mapped[float] = mapped_column(Float)


class AlertRow(_Base):
    __tablename__ = "live_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    severity: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    simulated_at_s: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True, slots=True)
class StoredReading:
    service_id: str
    sender: str
    sequence: int
    site: str
    tier: str
    protection: str
    qkd_key_id: str | None
    entity_type: str
    payload: str
    simulated_at_s: float


class Store:
    """The database of the live city. Thread-safe: gateways write from the bus threads."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise InputError(f"--db: not a database URL: {url!r}") from None
        backend = parsed.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise InputError(f"--db: use sqlite:///FILE or postgresql://..., got {backend}")
        if backend == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed.render_as_string(hide_password=True)
        self.backend = backend
        kwargs: dict[str, Any] = {}
        if backend == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False}
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
            if backend == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            _Base.metadata.create_all(self.engine)
        except (SQLAlchemyError, ModuleNotFoundError) as error:
            raise StorageError(f"cannot open the database {self.url}: {error}") from None
        self._lock = threading.Lock()
        # Built once: the values come as parameters, so each insert reuses the compiled form.
        self._insert_reading = (
            self._insert()(ReadingRow).on_conflict_do_nothing().returning(ReadingRow.id)
        )

    def _insert(self) -> Any:
        return sqlite.insert if self.backend == "sqlite" else postgresql.insert

    def add_reading(self, reading: StoredReading) -> bool:
        """Store a reading once; ``False`` when the same (service, sender, sequence) was stored."""
        values = {
            "service_id": reading.service_id,
            "sender": reading.sender,
            "sequence": reading.sequence,
            "site": reading.site,
            "tier": reading.tier,
            "protection": reading.protection,
            "qkd_key_id": reading.qkd_key_id,
            "entity_type": reading.entity_type,
            "payload": reading.payload,
            "simulated_at_s": reading.simulated_at_s,
            "stored_at": dt.datetime.now(dt.UTC),
        }
        with self._lock, self.engine.begin() as connection:
            # A row comes back only when one was inserted (rowcount is unreliable across drivers).
            return connection.execute(self._insert_reading, values).first() is not None

    def add_rejection(
        self, service_id: str, sender: str, site: str, cause: str, at_s: float
    ) -> None:
        with self._lock, Session(self.engine) as session:
            session.add(
                RejectionRow(
                    service_id=service_id,
                    sender=sender,
                    site=site,
                    cause=cause,
                    simulated_at_s=at_s,
                )
            )
            session.commit()

    def add_alert(self, severity: str, cause: str, subject: str, message: str, at_s: float) -> None:
        with self._lock, Session(self.engine) as session:
            session.add(
                AlertRow(
                    severity=severity,
                    cause=cause,
                    subject=subject,
                    message=message,
                    simulated_at_s=at_s,
                )
            )
            session.commit()

    def reading_counts(self) -> dict[str, int]:
        """Readings stored per service."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(ReadingRow.service_id, func.count()).group_by(ReadingRow.service_id)
            )
            return {service: int(count) for service, count in rows}

    def sequences(self, service_id: str, sender: str) -> list[int]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(ReadingRow.sequence)
                .where(ReadingRow.service_id == service_id, ReadingRow.sender == sender)
                .order_by(ReadingRow.sequence)
            )
            return list(rows)

    def rejection_counts(self) -> dict[str, int]:
        with Session(self.engine) as session:
            rows = session.execute(
                select(RejectionRow.cause, func.count()).group_by(RejectionRow.cause)
            )
            return {cause: int(count) for cause, count in rows}

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    # WAL lets the dashboard read while gateways write; NORMAL keeps commits durable in WAL mode.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
