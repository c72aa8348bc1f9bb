"""``SQLKeyStore``: the key store on SQLAlchemy 2, SQLite by default (WAL) or PostgreSQL.

Several KME worker processes may share one PostgreSQL database: allocation takes pool blocks with
``SELECT … FOR UPDATE SKIP LOCKED`` and delivery locks the key's row (``FOR UPDATE``), so two
workers never hand out the same block or deliver the same key twice, with no process-local lock.
SQLite serialises writers instead: every transaction starts with ``BEGIN IMMEDIATE``, so one
process (with threads) is safe; SQLite is the single-process store.

The schema is created and upgraded by Alembic migrations shipped in ``kms/migrations``
(``migrate``); on PostgreSQL an advisory lock makes concurrent starts of several workers safe.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Final

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError

from qsafecity.errors import InputError, KeyManagementError
from qsafecity.kms.model import Block, StoredKey, StoredRole
from qsafecity.kms.schema import blocks, holds, keys, link_state
from qsafecity.kms.store import (
    DuplicateKey,
    LinkState,
    MissingBlocks,
    StoreTransaction,
    deliver_in_transaction,
    issue_stock_in_transaction,
)

#: Connections each store keeps to PostgreSQL (and the most it opens).
POOL_SIZE: Final = 12
MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"
_ADVISORY_LOCK: Final = zlib.crc32(b"qsafecity.kms migrations")


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``sqlite:///path``; use psycopg 3 for PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(f"not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
    raise InputError(f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://…")


def _join(saes: Sequence[str]) -> str:
    return "\n".join(saes)


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split("\n")) if text else ()


# The statements of the hot paths, built once: building a Core statement and its cache key costs
# about as much Python time as executing it (measured: 285 µs against 139 µs CPU per DELETE).
_STOCK_OF_PAIR: Final = (
    keys.c.role == StoredRole.STOCK.value,
    keys.c.master_sae == bindparam("master"),
    keys.c.slave_saes == bindparam("slave"),
)
_PICK_STOCK: Final = (
    select(keys.c.key_id, keys.c.sealed)
    .where(*_STOCK_OF_PAIR)
    .limit(bindparam("count", type_=Integer))
)
_ISSUED: Final = {
    "role": StoredRole.ORIGIN.value,
    "sealed": b"",
    "created_s": bindparam("now_s"),
}
_ISSUED_COLUMNS: Final = (keys.c.key_id, keys.c.size_bits, keys.c.origin_kme)
_PICKED_STOCK: Final = _PICK_STOCK.with_for_update(skip_locked=True).cte("picked")
#: PostgreSQL: lock what no other worker is issuing, turn it into origin records and return the
#: material it had (the CTE's copy of the row, from before the update), in one round trip.
_ISSUE_STOCK_POSTGRES: Final = (
    update(keys)
    .where(keys.c.key_id == _PICKED_STOCK.c.key_id)
    .values(**_ISSUED)
    .returning(*_ISSUED_COLUMNS, _PICKED_STOCK.c.sealed)
)
_ISSUE_STOCK_SQLITE: Final = (
    update(keys)
    .where(keys.c.key_id.in_(bindparam("key_ids", expanding=True)))
    .values(**_ISSUED)
    .returning(*_ISSUED_COLUMNS)
)
# The two hot statements on PostgreSQL, in its own SQL: run in autocommit (one round trip instead
# of three: no BEGIN, no COMMIT) by the store's threads (``SQLKeyStore``) and by the API's event
# loop (``PostgresHotPath``) alike. Each is all or nothing on its own: it changes rows only when
# its locking CTE found every row asked for (a CTE with FOR UPDATE, referenced twice, is
# evaluated once).
_KEY_COLUMNS: Final = (
    "key_id, role, master_sae, slave_saes, pending_saes, size_bits, origin_kme, created_s, sealed"
)
ISSUE_STOCK_SQL: Final = f"""
WITH picked AS (
    SELECT key_id, sealed FROM kms_keys
    WHERE role = '{StoredRole.STOCK.value}' AND master_sae = %(master)s
      AND slave_saes = %(slave)s AND size_bits = %(size_bits)s
    LIMIT %(count)s
    FOR UPDATE SKIP LOCKED
)
UPDATE kms_keys SET role = '{StoredRole.ORIGIN.value}', sealed = ''::bytea, created_s = %(now_s)s
FROM picked
WHERE kms_keys.key_id = picked.key_id AND (SELECT count(*) FROM picked) = %(count)s
RETURNING kms_keys.key_id, kms_keys.size_bits, kms_keys.origin_kme, picked.sealed
"""
DELIVER_SQL: Final = f"""
WITH matched AS (
    SELECT key_id FROM kms_keys
    WHERE key_id = ANY(%(key_ids)s) AND role = '{StoredRole.DELIVERY.value}'
      AND master_sae = %(master)s AND pending_saes = %(slave)s
    FOR UPDATE
)
DELETE FROM kms_keys
WHERE key_id IN (SELECT key_id FROM matched) AND (SELECT count(*) FROM matched) = %(number)s
RETURNING {_KEY_COLUMNS}
"""


def _issue_parameters(
    master_sae: str, slave_sae: str, count: int, size_bits: int, now_s: float
) -> dict[str, object]:
    return {
        "master": master_sae,
        "slave": slave_sae,
        "size_bits": size_bits,
        "count": count,
        "now_s": now_s,
    }


def _deliver_parameters(
    key_ids: Sequence[str], master_sae: str, slave_sae: str
) -> dict[str, object]:
    return {
        "key_ids": list(key_ids),
        "master": master_sae,
        "slave": slave_sae,
        "number": len(key_ids),
    }


def _issued(master_sae: str, slave_sae: str, now_s: float, rows: Sequence[Any]) -> list[StoredKey]:
    """Issued stock keys as they were before (with their sealed material), from rows of
    (key id, size, origin KME, sealed material)."""
    return [
        StoredKey(
            key_id=str(row[0]),
            role=StoredRole.STOCK,
            master_sae=master_sae,
            slave_saes=(slave_sae,),
            pending_saes=(slave_sae,),
            size_bits=int(row[1]),
            origin_kme=str(row[2]),
            created_s=now_s,
            sealed=bytes(row[3]),
        )
        for row in rows
    ]


def _delivered(key_ids: Sequence[str], rows: Sequence[Any]) -> list[StoredKey] | None:
    """The keys ``DELIVER_SQL`` returned (columns in ``_KEY_COLUMNS`` order), or ``None``."""
    if len(rows) != len(key_ids):
        return None
    return [
        StoredKey(
            key_id=str(row[0]),
            role=StoredRole(row[1]),
            master_sae=str(row[2]),
            slave_saes=_split(row[3]),
            pending_saes=_split(row[4]),
            size_bits=int(row[5]),
            origin_kme=str(row[6]),
            created_s=float(row[7]),
            sealed=bytes(row[8]),
        )
        for row in rows
    ]


_STOCK_COUNT: Final = select(func.count()).select_from(keys).where(*_STOCK_OF_PAIR)
_TAKE_LAST_DELIVERIES: Final = (
    delete(keys)
    .where(
        keys.c.key_id.in_(bindparam("key_ids", expanding=True)),
        keys.c.role == StoredRole.DELIVERY.value,
        keys.c.master_sae == bindparam("master"),
        keys.c.pending_saes == bindparam("slave"),
    )
    .returning(keys)
)
_SELECT_KEYS: Final = (
    select(keys)
    .where(keys.c.key_id.in_(bindparam("key_ids", expanding=True)))
    .order_by(keys.c.key_id)
)
_LOCK_KEYS: Final = _SELECT_KEYS.with_for_update()
_DELETE_KEYS: Final = delete(keys).where(keys.c.key_id.in_(bindparam("key_ids", expanding=True)))


def _stored_key(row: Any) -> StoredKey:
    return StoredKey(
        key_id=row["key_id"],
        role=StoredRole(row["role"]),
        master_sae=row["master_sae"],
        slave_saes=_split(row["slave_saes"]),
        pending_saes=_split(row["pending_saes"]),
        size_bits=int(row["size_bits"]),
        origin_kme=row["origin_kme"],
        created_s=float(row["created_s"]),
        sealed=bytes(row["sealed"]),
    )


class _SQLTransaction:
    def __init__(self, connection: Connection, postgres: bool) -> None:
        self._c = connection
        self._postgres = postgres

    def lock_link(self, link_id: str, now_s: float) -> LinkState:
        query = select(link_state.c.next_index, link_state.c.filled_s).where(
            link_state.c.link_id == link_id
        )
        if self._postgres:
            query = query.with_for_update()
        row = self._c.execute(query).first()
        if row is None:
            dialect_insert = postgresql.insert if self._postgres else sqlite.insert
            self._c.execute(
                dialect_insert(link_state)
                .values(link_id=link_id, next_index=0, filled_s=now_s)
                .on_conflict_do_nothing(index_elements=["link_id"])
            )
            row = self._c.execute(query).one()
        return LinkState(int(row[0]), float(row[1]))

    def add_blocks(
        self, link_id: str, start_index: int, sealed: Sequence[bytes], filled_s: float
    ) -> None:
        current = self.lock_link(link_id, filled_s).next_index
        if start_index != current:
            raise ValueError(f"blocks must be added at {current}, not {start_index}")
        if sealed:
            self._c.execute(
                insert(blocks),
                [
                    {"link_id": link_id, "block_index": start_index + offset, "sealed": value}
                    for offset, value in enumerate(sealed)
                ],
            )
        self._c.execute(
            update(link_state)
            .where(link_state.c.link_id == link_id)
            .values(next_index=start_index + len(sealed), filled_s=filled_s)
        )

    def available_count(self, link_id: str) -> int:
        query = select(func.count()).select_from(blocks).where(blocks.c.link_id == link_id)
        return int(self._c.execute(query).scalar_one())

    def _delete(self, link_id: str, indices: Sequence[int]) -> dict[int, bytes]:
        rows = self._c.execute(
            delete(blocks)
            .where(blocks.c.link_id == link_id, blocks.c.block_index.in_(indices))
            .returning(blocks.c.block_index, blocks.c.sealed)
        ).all()
        return {int(row[0]): bytes(row[1]) for row in rows}

    def take_any_blocks(self, link_id: str, count: int) -> list[Block]:
        if count <= 0:
            return []
        query = (
            select(blocks.c.block_index)
            .where(blocks.c.link_id == link_id)
            .order_by(blocks.c.block_index)
            .limit(count)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        # One round trip: delete what the locking query picked, and return it. The pick is a CTE
        # because PostgreSQL may re-run a plain `IN (SELECT … LIMIT n FOR UPDATE)` subquery and
        # delete more than n rows; a CTE runs once.
        picked = query.cte("picked")
        rows = self._c.execute(
            delete(blocks)
            .where(
                blocks.c.link_id == link_id,
                blocks.c.block_index.in_(select(picked.c.block_index)),
            )
            .returning(blocks.c.block_index, blocks.c.sealed)
        ).all()
        return sorted((Block(int(row[0]), bytes(row[1])) for row in rows), key=lambda b: b.index)

    def take_blocks(self, link_id: str, indices: Sequence[int]) -> list[Block]:
        if len(set(indices)) != len(indices):
            raise MissingBlocks(link_id, indices)
        taken = self._delete(link_id, indices)
        missing = [i for i in indices if i not in taken]
        if missing:
            # All or nothing: put back what was there, so the caller may read ahead and retry.
            if taken:
                self._c.execute(
                    insert(blocks),
                    [{"link_id": link_id, "block_index": i, "sealed": v} for i, v in taken.items()],
                )
            raise MissingBlocks(link_id, missing)
        return [Block(index, taken[index]) for index in indices]

    def add_hold(self, hold_id: str, link_id: str, sealed: bytes, created_s: float) -> None:
        try:
            with self._c.begin_nested():
                self._c.execute(
                    insert(holds).values(
                        hold_id=hold_id, link_id=link_id, sealed=sealed, created_s=created_s
                    )
                )
        except IntegrityError:
            raise DuplicateKey(f"hold {hold_id} exists") from None

    def take_hold(self, hold_id: str, link_id: str) -> bytes | None:
        row = self._c.execute(
            delete(holds)
            .where(holds.c.hold_id == hold_id, holds.c.link_id == link_id)
            .returning(holds.c.sealed)
        ).first()
        return None if row is None else bytes(row[0])

    def take_old_holds(self, created_before_s: float) -> list[tuple[str, str, bytes]]:
        rows = self._c.execute(
            delete(holds)
            .where(holds.c.created_s < created_before_s)
            .returning(holds.c.hold_id, holds.c.link_id, holds.c.sealed)
        ).all()
        return [(str(row[0]), str(row[1]), bytes(row[2])) for row in rows]

    def take_old_keys(self, role: StoredRole, created_before_s: float) -> list[StoredKey]:
        rows = self._c.execute(
            delete(keys)
            .where(keys.c.role == role.value, keys.c.created_s < created_before_s)
            .returning(keys)
        ).mappings()
        return [_stored_key(row) for row in rows]

    def add_key(self, key: StoredKey) -> None:
        self.add_keys([key])

    def add_keys(self, new: Sequence[StoredKey]) -> None:
        if not new:
            return
        try:
            with self._c.begin_nested():
                self._c.execute(
                    insert(keys),
                    [
                        {
                            "key_id": key.key_id,
                            "role": key.role.value,
                            "master_sae": key.master_sae,
                            "slave_saes": _join(key.slave_saes),
                            "pending_saes": _join(key.pending_saes),
                            "size_bits": key.size_bits,
                            "origin_kme": key.origin_kme,
                            "created_s": key.created_s,
                            "sealed": key.sealed,
                        }
                        for key in new
                    ],
                )
        except IntegrityError:
            raise DuplicateKey("a key id is taken") from None

    def lock_keys(self, key_ids: Sequence[str]) -> dict[str, StoredKey]:
        if not key_ids:
            return {}
        query = _LOCK_KEYS if self._postgres else _SELECT_KEYS
        rows = self._c.execute(query, {"key_ids": list(key_ids)}).mappings()
        return {row["key_id"]: _stored_key(row) for row in rows}

    def take_last_deliveries(
        self, key_ids: Sequence[str], master_sae: str, slave_sae: str
    ) -> list[StoredKey]:
        if not key_ids:
            return []
        # One DELETE … RETURNING: on PostgreSQL it locks each row it deletes, and a concurrent
        # delivery of the same key waits for this one, then finds the row gone.
        rows = self._c.execute(
            _TAKE_LAST_DELIVERIES,
            {"key_ids": list(key_ids), "master": master_sae, "slave": slave_sae},
        ).mappings()
        return [_stored_key(row) for row in rows]

    def set_pending(self, key_id: str, pending_saes: tuple[str, ...]) -> None:
        self._c.execute(
            update(keys).where(keys.c.key_id == key_id).values(pending_saes=_join(pending_saes))
        )

    def delete_key(self, key_id: str) -> bool:
        result = self._c.execute(delete(keys).where(keys.c.key_id == key_id))
        return bool(result.rowcount)

    def delete_keys(self, key_ids: Sequence[str]) -> int:
        if not key_ids:
            return 0
        result = self._c.execute(_DELETE_KEYS, {"key_ids": list(key_ids)})
        return int(result.rowcount)

    def key_count(self) -> int:
        return int(self._c.execute(select(func.count()).select_from(keys)).scalar_one())

    def issue_stock(
        self, master_sae: str, slave_sae: str, count: int, now_s: float
    ) -> list[StoredKey]:
        if count <= 0:
            return []
        pair = {"master": master_sae, "slave": slave_sae}
        rows: list[tuple[Any, ...]]
        if self._postgres:
            rows = [
                tuple(row)
                for row in self._c.execute(
                    _ISSUE_STOCK_POSTGRES, {**pair, "count": count, "now_s": now_s}
                ).all()
            ]
        else:
            # SQLite: the transaction holds the database's write lock (BEGIN IMMEDIATE).
            found = {
                str(row[0]): bytes(row[1])
                for row in self._c.execute(_PICK_STOCK, {**pair, "count": count}).all()
            }
            if not found:
                return []
            rows = [
                (*row, found[row[0]])
                for row in self._c.execute(
                    _ISSUE_STOCK_SQLITE, {"key_ids": list(found), "now_s": now_s}
                ).all()
            ]
        return _issued(master_sae, slave_sae, now_s, rows)

    def stock_count(self, master_sae: str, slave_sae: str) -> int:
        return int(
            self._c.execute(_STOCK_COUNT, {"master": master_sae, "slave": slave_sae}).scalar_one()
        )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class SQLKeyStore:
    """A key store in an SQL database (see the module docstring for the locking rules)."""

    def __init__(
        self, url: str, *, pool_size: int = POOL_SIZE, run_migrations: bool = True
    ) -> None:
        self.url = normalise_url(url)
        self.postgres = self.url.startswith("postgresql")
        try:
            if self.postgres:
                # No overflow: an overflow connection is closed when it is returned, and opening
                # the next one costs PostgreSQL a backend (fork, authentication, catalogue caches).
                # Under load that churn took more server CPU than the key management itself;
                # callers wait for a connection instead (the API limits its threads to the pool).
                self.engine = create_engine(self.url, pool_size=pool_size, max_overflow=0)
                # The same pool; its connections in autocommit while checked out this way.
                self._autocommit_engine = self.engine.execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            else:
                self.engine = create_engine(self.url)
                _configure_sqlite(self.engine)
            if run_migrations:
                migrate(self.engine)
        except SQLAlchemyError as error:
            raise KeyManagementError(
                f"cannot open the key store database: {type(error).__name__}"
            ) from None

    def __repr__(self) -> str:
        return f"SQLKeyStore({make_url(self.url).render_as_string(hide_password=True)!r})"

    @contextmanager
    def _transaction(self) -> Iterator[StoreTransaction]:
        try:
            with self.engine.begin() as connection:
                yield _SQLTransaction(connection, self.postgres)
        except OperationalError as error:
            raise KeyManagementError(
                f"the key store database failed: {type(error.orig).__name__}"
            ) from None

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        return self._transaction()

    @contextmanager
    def _autocommit(self) -> Iterator[Connection]:
        try:
            with self._autocommit_engine.connect() as connection:
                yield connection
        except OperationalError as error:
            raise KeyManagementError(
                f"the key store database failed: {type(error.orig).__name__}"
            ) from None

    def issue_stock_at_once(
        self, master_sae: str, slave_sae: str, count: int, size_bits: int, now_s: float
    ) -> list[StoredKey]:
        if not self.postgres:
            return issue_stock_in_transaction(self, master_sae, slave_sae, count, size_bits, now_s)
        if count <= 0:
            return []
        parameters = _issue_parameters(master_sae, slave_sae, count, size_bits, now_s)
        with self._autocommit() as connection:
            rows = connection.exec_driver_sql(ISSUE_STOCK_SQL, parameters).all()
        return _issued(master_sae, slave_sae, now_s, rows)

    def deliver_at_once(
        self,
        key_ids: Sequence[str],
        master_sae: str,
        slave_sae: str,
        before_commit: Callable[[], None],
    ) -> list[StoredKey] | None:
        if not self.postgres:
            return deliver_in_transaction(self, key_ids, master_sae, slave_sae, before_commit)
        parameters = _deliver_parameters(key_ids, master_sae, slave_sae)
        with self._autocommit() as connection:
            before_commit()  # the statement commits as it runs
            rows = connection.exec_driver_sql(DELIVER_SQL, parameters).all()
        return _delivered(key_ids, rows)

    def hot_path(self) -> PostgresHotPath | None:
        """The hot statements on asyncio, for an API's event loop (PostgreSQL only)."""
        if not self.postgres:
            return None
        return PostgresHotPath(
            make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
        )

    def close(self) -> None:
        self.engine.dispose()


def _finish(connection: psycopg.AsyncConnection[Any] | None) -> None:
    """Close a connection at once, from any event loop (libpq's own close; no round trip)."""
    if connection is not None and not connection.closed:
        connection.pgconn.finish()


class PostgresHotPath:
    """``issue_stock_at_once`` and ``deliver_at_once`` of a PostgreSQL store, on asyncio.

    The API answers the common ``enc_keys`` and ``dec_keys`` requests on its event loop with these
    (``api.fast``), so that a request waits for PostgreSQL without holding a thread: a thread
    per request in flight cost the KME more CPU (GIL hand-overs, a pool checkout) than the
    statement itself. Same statements, same semantics as the store's own methods; connections
    (psycopg's ``AsyncConnection``, in autocommit) are opened as needed, up to ``POOL_SIZE``, and
    belong to the event loop that opened them.
    """

    def __init__(self, conninfo: str, size: int = POOL_SIZE) -> None:
        self._conninfo = conninfo
        self._size = size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots = asyncio.Semaphore(size)

    def __repr__(self) -> str:
        return "PostgresHotPath(" + repr(make_url(self._conninfo).render_as_string()) + ")"

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections of another loop cannot be used here
            self._abandon()
            self._loop, self._slots = loop, asyncio.Semaphore(self._size)
        async with self._slots:
            connection: psycopg.AsyncConnection[Any] | None = None
            try:
                connection = self._idle.pop() if self._idle else None
                if connection is None or connection.closed:
                    connection = await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True
                    )
                yield connection
            except psycopg.OperationalError as error:
                _finish(connection)
                raise KeyManagementError(
                    f"the key store database failed: {type(error).__name__}"
                ) from None
            except BaseException:
                _finish(connection)  # its state is unknown (a failed statement, a cancellation)
                raise
            self._idle.append(connection)

    def _abandon(self) -> None:
        for connection in self._idle:
            _finish(connection)
        self._idle.clear()

    def close(self) -> None:
        """Close the idle connections (from any thread, loop or none)."""
        self._abandon()

    async def issue_stock_at_once(
        self, master_sae: str, slave_sae: str, count: int, size_bits: int, now_s: float
    ) -> list[StoredKey]:
        if count <= 0:
            return []
        parameters = _issue_parameters(master_sae, slave_sae, count, size_bits, now_s)
        async with self._connection() as connection:
            cursor = await connection.execute(ISSUE_STOCK_SQL, parameters)
            rows = await cursor.fetchall()
        return _issued(master_sae, slave_sae, now_s, rows)

    async def deliver_at_once(
        self,
        key_ids: Sequence[str],
        master_sae: str,
        slave_sae: str,
        before_commit: Callable[[], None],
    ) -> list[StoredKey] | None:
        parameters = _deliver_parameters(key_ids, master_sae, slave_sae)
        async with self._connection() as connection:
            before_commit()  # the statement commits as it runs
            cursor = await connection.execute(DELIVER_SQL, parameters)
            rows = await cursor.fetchall()
        return _delivered(key_ids, rows)
