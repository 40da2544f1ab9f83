"""Python helpers for the irp_batch PostgreSQL extension (psycopg 3).

The functions have the signatures of Proposal 002's helpers, so a notebook
calls them without handling connections::

    import irp_batch_client as irp

    batch_id = irp.create_batch("EDM_CREATION", 42, 3, jobs=[{"edm": "EDM_A"}])
    irp.get_active_batches_for_config(42)          # [{'id': ..., 'status': 'INITIATED', ...}]
    irp.cancel_batch(batch_id, reason="Re-ran Step 03 by mistake")

Connections
    Each call opens its own connection, runs in one transaction, commits
    before it returns and rolls back if it raises, then closes the
    connection. So a call has either happened completely or not at all, and
    an error never leaves a broken connection behind in the notebook.

    The connection comes from libpq's environment (PGHOST, PGPORT, PGUSER,
    PGDATABASE, PGPASSWORD, PGSERVICE, ~/.pgpass) unless ``configure()`` says
    otherwise: ``configure("dbname=irp host=db")`` or
    ``configure(factory=my_connect)``.

    Every function also accepts ``conn=`` (keyword only), a psycopg
    connection of your own, which it leaves open. It then runs inside
    ``conn.transaction()``, psycopg's rules: with no transaction in progress
    (an autocommit connection, or one that is idle) the call commits when it
    returns and rolls back if it raises, as above; inside a transaction of
    yours (``with conn.transaction():``, or earlier statements on a
    non-autocommit connection) it runs in a savepoint: an error undoes only
    the call's work and your transaction remains usable, and what the call
    did is committed when your transaction is.

Retries
    ``create_batch()`` and ``ensure_batch()`` make a ``request_id`` (uuid4)
    per call unless you pass one, and send it with every attempt. If the
    connection is lost (psycopg's ``OperationalError`` with no SQLSTATE, one of
    class 08, or 57P01/57P02/57P03: the server ended or refused the session)
    they reconnect through the configured conninfo, which may name several
    hosts (``host=a,b target_session_attrs=read-write``), and try again, up to
    ``configure(attempts=5)`` attempts with exponential backoff from
    ``configure(backoff=0.2)`` seconds (capped at 5 s, with jitter). The
    server returns the batch an earlier attempt of the request committed, so
    a lost reply never turns into a DuplicateBatchError naming your own batch
    or into a second batch. With ``conn=`` there is no retry (your connection
    cannot be reconnected): the error carries ``request_id``; pass it again.
    ``request_id=False`` sends none and never retries (a 1.x server, which
    has no such argument).

Poolers
    Every statement is sent unprepared (``prepare=False``), and the module's
    connections have ``prepare_threshold=None``, so it works through pgbouncer
    in transaction pooling mode, before 1.21 too.

Live status
    ``watch()`` yields the server's notifications (channels irp_batch_events
    and irp_job_progress) as they are committed, ``wait_for_batches()`` shows
    a progress bar per batch until all have finished, ``plot_history()``
    draws each batch's life from the audit trail (see _live.py and
    _history.py). They LISTEN on a connection of their own:
    ``configure(listen_conninfo=...)`` names the server for it when the
    other calls go through a pooler in transaction mode. tqdm and matplotlib
    are imported only when used.

Schema
    The functions are called in the schema the extension is installed in
    (looked up in pg_extension on each call), unless ``schema=`` or
    ``configure(schema=...)`` names one.

Errors
    Every error is a ``BatchError`` whose ``sqlstate`` is the server's
    SQLSTATE (``None`` for errors that did not come from the server, such as a
    failed connection). A refused duplicate is a ``DuplicateBatchError``
    (SQLSTATE 23505 on idx_batch_unique_active) that carries the existing
    batch's id and status; an unknown batch is a ``BatchNotFoundError``
    (P0002). The psycopg exception is the ``__cause__``, its diagnostic the
    ``diag`` attribute. Wrong Python types (a float or bool as an id, a string
    as the list of batch types) raise ``TypeError`` before anything is sent.

    Behind a PL/Proxy router (docs/scaling.md) a shard's error arrives with its
    SQLSTATE, but its message starts with the router function and the shard
    (``irp.irp_create_batch(6): [irp_shard_0] REMOTE ERROR: ...``), its detail
    with ``Remote detail:``, and the schema, table and constraint names are
    lost. The errors are told apart by SQLSTATE and message, so the same
    exceptions are raised there; ``message`` is the router's. Name the
    router's schema with ``schema=`` or ``configure(schema=...)``: the router
    has no irp_batch extension to look it up from.
"""

from __future__ import annotations

import operator
import random
import re
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, TypeVar, Union

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

__all__ = [
    "BatchError",
    "BatchEvent",
    "BatchNotFoundError",
    "BatchWaitTimeout",
    "BatchWatch",
    "DuplicateBatchError",
    "EnsuredBatch",
    "batch_progress",
    "cancel_batch",
    "configure",
    "connect",
    "create_batch",
    "ensure_batch",
    "get_active_batches_for_config",
    "get_batches_for_config",
    "plot_history",
    "preflight",
    "wait_for_batches",
    "watch",
]

EXTENSION = "irp_batch"
UNIQUE_INDEX = "idx_batch_unique_active"

# The guard's message, a wire contract: the server builds it in duplicate_batch()
# (src/rules/guard_rules.hpp), and test/unit/guard_rules_test.cpp checks that it
# still matches this pattern; "Batch N not found" is batch_not_found() in
# src/cancel_batch.cpp. batch_type is written as given, quotes included, so the
# pattern is anchored at both ends and the type is greedy.
_DUPLICATE_MESSAGE = re.compile(
    r"Active batch already exists for configuration (?P<configuration_id>\d+) "
    r"and batch_type '(?P<batch_type>.*)': Batch ID (?P<batch_id>\d+) "
    r"\(status: (?P<status>[A-Z]+)\)",
    re.S,
)
# PostgreSQL's own unique-violation detail, seen when the guard did not write
# the error (two sessions racing for one key, or the trigger disabled).
_INDEX_DETAIL = re.compile(
    r"Key \(configuration_id, batch_type\)=\((?P<configuration_id>\d+), (?P<batch_type>.*)\) already exists\.",
    re.S,
)
_NOT_FOUND_MESSAGE = re.compile(r"Batch (?P<batch_id>\d+) not found")
# PostgreSQL's own unique-violation message, which names the index.
_UNIQUE_MESSAGE = re.compile(r'duplicate key value violates unique constraint "(?P<name>[^"]+)"', re.S)
# What PL/Proxy puts before a shard's message ("FUNCTION(NARGS): [DATABASE]
# REMOTE ERROR: ") and detail, once per router on the way.
_REMOTE_MESSAGE = re.compile(r".+?\(\d+\): \[.*?\] REMOTE [^:]+: ", re.S)
_REMOTE_DETAIL = re.compile(r"Remote detail: ")


def _remote(text: Optional[str], prefix: "re.Pattern[str]") -> Optional[str]:
    """The shard's own text of a message or detail relayed by PL/Proxy."""
    while text is not None:
        found = prefix.match(text)
        if not found:
            break
        text = text[found.end():]
    return text


class BatchError(Exception):
    """An irp_batch call failed.

    Attributes: ``message`` (the server's primary message), ``sqlstate``,
    ``detail`` and ``hint`` (``None`` when absent), ``diag`` (psycopg's
    ``Diagnostic``, or ``None``), ``request_id`` (the uuid a create or ensure
    sent, else ``None``: pass it again to retry the same request) and
    ``attempts`` (how many attempts were made).
    """

    def __init__(self, message: str, *, sqlstate: Optional[str] = None,
                 detail: Optional[str] = None, hint: Optional[str] = None,
                 diag: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint
        self.diag = diag
        self.request_id: Optional[uuid.UUID] = None
        self.attempts = 1

    def __str__(self) -> str:
        text = self.message
        if self.detail:
            text += f"\nDETAIL: {self.detail}"
        if self.hint:
            text += f"\nHINT: {self.hint}"
        return text


class DuplicateBatchError(BatchError):
    """An active batch already exists for the key (SQLSTATE 23505).

    ``batch_id`` and ``status`` name that batch, ``configuration_id`` and
    ``batch_type`` the key, all read from the server's error. When the error
    is PostgreSQL's bare unique violation instead of the guard's message (two
    sessions creating one key at the same instant), ``batch_id`` and
    ``status`` are ``None``: ask ``get_active_batches_for_config()``.
    ``hint`` says what to do in Python; the server's own hint, in SQL terms,
    stays in ``diag.message_hint``.
    """

    def __init__(self, message: str, *, batch_id: Optional[int], status: Optional[str],
                 configuration_id: Optional[int], batch_type: Optional[str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.batch_id = batch_id
        self.status = status
        self.configuration_id = configuration_id
        self.batch_type = batch_type


class BatchNotFoundError(BatchError):
    """The batch does not exist (SQLSTATE P0002). ``batch_id`` names it."""

    def __init__(self, message: str, *, batch_id: Optional[int], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.batch_id = batch_id


class BatchWaitTimeout(BatchError, TimeoutError):
    """``wait_for_batches()`` gave up: its timeout passed with batches still active.

    ``active`` is ``{batch_id: status}`` of the batches still INITIATED or
    ACTIVE, ``statuses`` the status of every batch waited for, at that time.
    Also a ``TimeoutError``; ``sqlstate`` is None.
    """

    def __init__(self, message: str, *, active: Dict[int, str], statuses: Dict[int, str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.active = active
        self.statuses = statuses


class EnsuredBatch(NamedTuple):
    """What ``ensure_batch()`` returns: the batch's id, and whether this call created it."""

    batch_id: int
    created: bool


#
# Connections
#

_lock = threading.Lock()
DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF = 0.2      # seconds before the second attempt; doubles, up to MAX_BACKOFF
MAX_BACKOFF = 5.0
_settings: Dict[str, Any] = {"factory": None, "schema": None, "attempts": DEFAULT_ATTEMPTS,
                             "backoff": DEFAULT_BACKOFF, "listen_factory": None}


def configure(conninfo: Optional[str] = None, *, factory: Optional[Callable[[], psycopg.Connection]] = None,
              schema: Optional[str] = None, attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF,
              listen_conninfo: Optional[str] = None, **connect_kwargs: Any) -> None:
    """Sets how the functions connect when no ``conn=`` is given.

    ``configure()``                      libpq's environment (the default)
    ``configure("dbname=irp host=db")``  this conninfo string (and keyword arguments, as psycopg.connect takes)
    ``configure(factory=f)``             ``f()`` returns a new psycopg connection; the functions close it
    ``schema``                           the extension's schema, if it should not be looked up
    ``attempts``, ``backoff``            create_batch/ensure_batch: attempts on connection loss (1: no
                                         retry), and the first wait between them in seconds (doubling)
    ``listen_conninfo``                  watch() and wait_for_batches(): the server to LISTEN on, when the
                                         other calls go through a pooler in transaction mode (pgbouncer),
                                         which cannot keep a LISTEN; with the keyword arguments too

    The conninfo may name several hosts: ``"host=a,b target_session_attrs=read-write"``
    reconnects to whichever is the primary after a failover. Each call
    replaces the whole configuration.
    """
    if factory is not None and (conninfo is not None or connect_kwargs):
        raise TypeError("configure() takes either a conninfo or a factory, not both")
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError(f"attempts must be a positive integer, not {attempts!r}")
    if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or backoff < 0:
        raise ValueError(f"backoff must be a number of seconds >= 0, not {backoff!r}")
    listen_factory: Optional[Callable[[], psycopg.Connection]] = None
    if listen_conninfo is not None:
        if not isinstance(listen_conninfo, str):
            raise TypeError(f"listen_conninfo must be a str, not {type(listen_conninfo).__name__}")
        listen_kwargs = dict(connect_kwargs)

        def listen_factory() -> psycopg.Connection:
            return psycopg.connect(listen_conninfo, autocommit=True, **listen_kwargs)

    if factory is None:
        conninfo_ = conninfo or ""
        connect_kwargs.setdefault("prepare_threshold", None)   # pgbouncer before 1.21

        def factory() -> psycopg.Connection:
            return psycopg.connect(conninfo_, autocommit=True, **connect_kwargs)

    with _lock:
        _settings["factory"] = factory
        _settings["listen_factory"] = listen_factory
        _settings["schema"] = schema
        _settings["attempts"] = attempts
        _settings["backoff"] = float(backoff)


def connect() -> psycopg.Connection:
    """A new connection as configured (an autocommit one unless your factory says otherwise)."""
    with _lock:
        factory = _settings["factory"]
    try:
        if factory is None:
            return psycopg.connect("", autocommit=True, prepare_threshold=None)
        return factory()
    except psycopg.Error as e:
        raise _translate(e) from e


def _listen_connect() -> psycopg.Connection:
    """A new connection to LISTEN on: ``listen_conninfo`` if configured, else as connect()."""
    with _lock:
        factory = _settings["listen_factory"]
    if factory is None:
        return connect()
    try:
        return factory()
    except psycopg.Error as e:
        raise _translate(e) from e


@contextmanager
def _transaction(conn: Optional[psycopg.Connection]) -> Iterator[psycopg.Connection]:
    """One call's connection and transaction, and the translation of its errors."""
    try:
        if conn is None:
            own = connect()
            try:
                with own.transaction():
                    yield own
            finally:
                own.close()
        else:
            with conn.transaction():
                yield conn
    except psycopg.Error as e:
        raise _translate(e) from e


def _schema(conn: psycopg.Connection, schema: Optional[str]) -> str:
    """The extension's schema: ``schema``, else configure()'s, else looked up in pg_extension."""
    if schema is None:
        with _lock:
            schema = _settings["schema"]
    if schema is None:
        row = conn.execute(
            "SELECT n.nspname FROM pg_catalog.pg_extension e"
            " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = %s", (EXTENSION,), prepare=False).fetchone()
        if row is None:
            database = conn.info.dbname
            raise BatchError(f"the {EXTENSION} extension is not installed in database {database!r}",
                             hint=f"CREATE EXTENSION {EXTENSION}; as a superuser, or connect to another database")
        schema = row[0]
    return schema


def _function(conn: psycopg.Connection, name: str, schema: Optional[str]) -> sql.Composable:
    """The qualified name of one of the extension's functions (or tables)."""
    return sql.SQL("{}.{}").format(sql.Identifier(_schema(conn, schema)), sql.Identifier(name))


#
# Retries
#

# SQLSTATEs of a session the server ended or would not start: the operator
# or a crash ended it (57P01, 57P02), or the server is starting up or in
# recovery (57P03). Class 08 is a connection exception; no SQLSTATE at all
# means libpq lost or never had the connection.
_SESSION_ENDED = {"57P01", "57P02", "57P03"}
_T = TypeVar("_T")


def _connection_lost(error: BaseException) -> bool:
    """Whether a failure means the connection died, so that a retry on a new one is the way on."""
    cause = error.__cause__ if isinstance(error, BatchError) else error
    if not isinstance(cause, psycopg.OperationalError):
        return False
    sqlstate = cause.sqlstate or cause.diag.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _SESSION_ENDED


def _request_id(request_id: Any) -> Optional[uuid.UUID]:
    if request_id is None:
        return uuid.uuid4()
    if request_id is False:
        return None
    if isinstance(request_id, uuid.UUID):
        return request_id
    if isinstance(request_id, str):
        return uuid.UUID(request_id)      # ValueError if it is not one
    raise TypeError(f"request_id must be a uuid.UUID or str, not {type(request_id).__name__}")


def _with_retries(call: Callable[[psycopg.Connection], _T], conn: Optional[psycopg.Connection],
                  request_id: Optional[uuid.UUID]) -> _T:
    """Runs call(connection) in one transaction; on connection loss again on a new connection.

    Only with a request_id (the server makes the retry of a committed attempt
    return its batch) and without conn= (which cannot be reconnected).
    """
    with _lock:
        attempts, backoff = _settings["attempts"], _settings["backoff"]
    if conn is not None or request_id is None:
        attempts = 1
    for attempt in range(1, attempts + 1):
        try:
            with _transaction(conn) as c:
                return call(c)
        except BatchError as e:
            e.request_id, e.attempts = request_id, attempt
            if attempt == attempts or not _connection_lost(e):
                raise
        delay = min(MAX_BACKOFF, backoff * 2 ** (attempt - 1))
        time.sleep(delay * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")


#
# Errors
#

def _translate(error: psycopg.Error) -> BatchError:
    diag = error.diag
    sqlstate = diag.sqlstate or getattr(error, "sqlstate", None)
    message = diag.message_primary or str(error).strip() or type(error).__name__
    fields = dict(sqlstate=sqlstate, detail=diag.message_detail, hint=diag.message_hint, diag=diag)

    # Through PL/Proxy the constraint name is lost: the guard's message, or
    # PostgreSQL's, which names the index, tells the duplicate apart then.
    own_message = _remote(message, _REMOTE_MESSAGE)
    own_detail = _remote(diag.message_detail, _REMOTE_DETAIL)
    constraint = diag.constraint_name
    if constraint is None:
        named = _UNIQUE_MESSAGE.fullmatch(own_message)
        constraint = named["name"] if named else None
    if sqlstate == "23505" and (constraint == UNIQUE_INDEX
                                or (constraint is None and _DUPLICATE_MESSAGE.fullmatch(own_message))):
        found = _DUPLICATE_MESSAGE.fullmatch(own_message)
        if found:
            batch_id = int(found["batch_id"])
            fields["hint"] = (f"Use allow_duplicate=True to create an intentional duplicate, "
                              f"or cancel the existing batch with cancel_batch({batch_id}).")
            return DuplicateBatchError(message, batch_id=batch_id, status=found["status"],
                                       configuration_id=int(found["configuration_id"]),
                                       batch_type=found["batch_type"], **fields)
        key = _INDEX_DETAIL.fullmatch(own_detail or "")
        fields["hint"] = ("Another session created an active batch for this key at the same time: "
                          "see get_active_batches_for_config().")
        return DuplicateBatchError(message, batch_id=None, status=None,
                                   configuration_id=int(key["configuration_id"]) if key else None,
                                   batch_type=key["batch_type"] if key else None, **fields)
    if sqlstate == "P0002":
        found = _NOT_FOUND_MESSAGE.fullmatch(own_message)
        return BatchNotFoundError(message, batch_id=int(found["batch_id"]) if found else None, **fields)
    return BatchError(message, **fields)


#
# Arguments: wrong Python types are refused here; values are the server's business
#

def _integer(name: str, value: Any) -> Optional[int]:
    if value is None:
        return None          # the server refuses it with SQLSTATE 22004
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer, not bool")
    try:
        return operator.index(value)   # int, numpy integers; not float or str
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}") from None


def _text(name: str, value: Any) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{name} must be a str, not {type(value).__name__}")


def _jobs(jobs: Any) -> Optional[Jsonb]:
    if jobs is None:
        return None
    if isinstance(jobs, (str, bytes)):
        raise TypeError("jobs must be a list of dicts, not a string")
    if isinstance(jobs, dict):
        return Jsonb(jobs)   # refused by the server: a JSON array is required
    return Jsonb(list(jobs))


#
# The API
#

def create_batch(batch_type: str, configuration_id: int, step_id: int, allow_duplicate: bool = False,
                 jobs: Optional[Iterable[Dict[str, Any]]] = None, *, schema: Optional[str] = None,
                 conn: Optional[psycopg.Connection] = None,
                 request_id: Union[None, bool, str, uuid.UUID] = None) -> int:
    """Creates a batch and one job per element of ``jobs`` (dicts), all or nothing; returns its id.

    Raises ``DuplicateBatchError`` if the key (configuration_id, batch_type)
    has an active (INITIATED or ACTIVE) batch, unless ``allow_duplicate`` is
    True: then the new batch is an intentional duplicate whose
    ``duplicate_of`` names the existing one.

    ``request_id`` (a uuid; one is made when None) is sent with every
    attempt: if the connection is lost, the call reconnects and retries
    (``configure(attempts=...)``), and a retry of an attempt that committed
    returns that attempt's batch. ``request_id=False`` sends none and does not
    retry.
    """
    if not isinstance(allow_duplicate, bool):
        raise TypeError(f"allow_duplicate must be True or False, not {allow_duplicate!r}")
    params = (_text("batch_type", batch_type), _integer("configuration_id", configuration_id),
              _integer("step_id", step_id), allow_duplicate, _jobs(jobs))
    rid = _request_id(request_id)

    def call(c: psycopg.Connection) -> int:
        if rid is None:
            query = sql.SQL("SELECT {}(%s::text, %s::integer, %s::integer, %s::boolean, %s::jsonb)")
            args: tuple = params
        else:
            query = sql.SQL("SELECT {}(%s::text, %s::integer, %s::integer, %s::boolean, %s::jsonb, %s::uuid)")
            args = params + (rid,)
        query = query.format(_function(c, "irp_create_batch", schema))
        return c.execute(query, args, prepare=False).fetchone()[0]

    return _with_retries(call, conn, rid)


def ensure_batch(batch_type: str, configuration_id: int, step_id: int,
                 jobs: Optional[Iterable[Dict[str, Any]]] = None, *, schema: Optional[str] = None,
                 conn: Optional[psycopg.Connection] = None,
                 request_id: Union[None, bool, str, uuid.UUID] = None) -> EnsuredBatch:
    """The idempotent re-run: returns ``EnsuredBatch(batch_id, created)``.

    If the key has an active batch, returns the one a duplicate error would
    name, with ``created`` False and no jobs added; otherwise creates the
    batch with its jobs, ``created`` True. Concurrent calls for one key all
    return the same id, exactly one with ``created`` True.

    ``request_id`` and retries as for ``create_batch()``: after a lost reply
    the retry reports what the first attempt did (``created`` True if it
    created the batch).
    """
    params = (_text("batch_type", batch_type), _integer("configuration_id", configuration_id),
              _integer("step_id", step_id), _jobs(jobs))
    rid = _request_id(request_id)

    def call(c: psycopg.Connection) -> EnsuredBatch:
        if rid is None:
            query = sql.SQL("SELECT batch_id, created FROM {}(%s::text, %s::integer, %s::integer, %s::jsonb)")
            args: tuple = params
        else:
            query = sql.SQL("SELECT batch_id, created FROM {}(%s::text, %s::integer, %s::integer, %s::jsonb,"
                            " %s::uuid)")
            args = params + (rid,)
        query = query.format(_function(c, "irp_ensure_batch", schema))
        batch_id, created = c.execute(query, args, prepare=False).fetchone()
        return EnsuredBatch(batch_id, created)

    return _with_retries(call, conn, rid)


def get_active_batches_for_config(configuration_id: int, batch_type: Optional[str] = None, *,
                                  schema: Optional[str] = None,
                                  conn: Optional[psycopg.Connection] = None) -> List[Dict[str, Any]]:
    """The INITIATED and ACTIVE batches of a configuration, newest first.

    With ``batch_type``, only that type. Each batch is a dict: ``id``,
    ``batch_type``, ``status`` (a str), ``created_ts``, ``job_count``,
    ``duplicate_of`` (None unless an intentional duplicate).
    """
    params = (_integer("configuration_id", configuration_id), _text("batch_type", batch_type))
    with _transaction(conn) as c:
        query = sql.SQL("SELECT id, batch_type, status::text AS status, created_ts, job_count, duplicate_of"
                        " FROM {}(%s::integer, %s::text)").format(
            _function(c, "irp_get_active_batches_for_config", schema))
        with c.cursor(row_factory=dict_row) as cur:
            return cur.execute(query, params, prepare=False).fetchall()


PREFLIGHT_KEYS = ("batch_type", "batch_id", "status", "created_ts", "created_by", "job_count", "duplicate_of",
                  "last_change", "stale", "message")


def preflight(configuration_id: int, batch_types: Iterable[str], *, schema: Optional[str] = None,
              conn: Optional[psycopg.Connection] = None) -> List[Dict[str, Any]]:
    """What already exists before a step creates batches of ``batch_types``.

    One dict per row of ``irp_batch_preflight``: for each type in the order
    given, one per active batch, oldest first, or one with ``batch_id`` None
    if the type has none. Keys: ``batch_type``, ``batch_id``, ``status``,
    ``created_ts``, ``created_by``, ``job_count``, ``duplicate_of``, and from
    server 2.1 on ``last_change`` (the last change to the batch, its jobs or
    its audit trail), ``stale`` (no change for ``irp_batch.stale_after``,
    1 day by default) and ``message`` (what to tell the user: ``"batch 7
    exists (INITIATED, last activity 5 minutes ago)"``, or for a stale one
    ``"batch 7 has had no activity for 26 hours; cancel it with ..."``);
    these three are None from older servers (and PL/Proxy routers).
    """
    if batch_types is None or isinstance(batch_types, (str, bytes)):
        raise TypeError("batch_types must be a list of str")
    types = [_text("batch_types[]", t) for t in batch_types]
    with _transaction(conn) as c:
        # Every column the server has: 2.1 added last_change, stale and message.
        query = sql.SQL("SELECT * FROM {}(%s::integer, %s::text[])").format(
            _function(c, "irp_batch_preflight", schema))
        with c.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(query, (_integer("configuration_id", configuration_id), types),
                               prepare=False).fetchall()
    result = [{key: row.get(key) for key in PREFLIGHT_KEYS} for row in rows]
    for row in result:
        if row["status"] is not None:
            row["status"] = str(row["status"])      # 1.x: the enum, as text
    return result


def cancel_batch(batch_id: int, reason: str = "Cancelled by user", *, schema: Optional[str] = None,
                 conn: Optional[psycopg.Connection] = None) -> bool:
    """Cancels an active batch and its unfinished jobs, recording ``reason``.

    Returns True if it cancelled, False if the batch had already finished.
    Raises ``BatchNotFoundError`` for an unknown batch. Jobs that were already
    at Moody's are listed in the audit event's ``submitted_job_ids``.
    """
    params = (_integer("batch_id", batch_id), _text("reason", reason))
    with _transaction(conn) as c:
        query = sql.SQL("SELECT {}(%s::integer, %s::text)").format(_function(c, "irp_cancel_batch", schema))
        return c.execute(query, params, prepare=False).fetchone()[0]


# Live status (LISTEN/NOTIFY, tqdm) and the history plot (matplotlib): their
# optional dependencies are imported when used, not here.
from ._live import (BatchEvent, BatchWatch, batch_progress, get_batches_for_config,  # noqa: E402
                    wait_for_batches, watch)
from ._history import plot_history  # noqa: E402
