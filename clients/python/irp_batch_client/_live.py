"""Live batch status: watch(), batch_progress() and wait_for_batches().

The server sends one NOTIFY per audit event on ``irp_batch_events`` and, per
statement that touched jobs, one per batch on ``irp_job_progress``
(docs/notifications.md), at commit: rolled-back work sends nothing. These functions
LISTEN on a connection of their own, in autocommit, so notifications arrive
between statements.

psycopg 3.1 (Debian 12's python3-psycopg 3.1.7) has ``Connection.notifies()``
without the ``timeout`` and ``stop_after`` of 3.2, and its generator blocks
until a notification arrives. So the wait here is a selector on the
connection's socket, with the time left, then libpq's PQconsumeInput and
PQnotifies (psycopg's ``pgconn.consume_input()`` and ``pgconn.notifies()``,
under the connection's lock); notifications that arrive while a statement
runs on the connection (the progress read of wait_for_batches()) reach
psycopg's notify handlers, and are kept the same way. This works on psycopg
3.1 and later.
"""

from __future__ import annotations

import json
import selectors
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, Iterable, Iterator, List, Optional, Sequence

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from . import (BatchError, BatchNotFoundError, BatchWaitTimeout, _function, _integer, _listen_connect,
               _schema, _transaction, _translate)

EVENTS_CHANNEL = "irp_batch_events"
PROGRESS_CHANNEL = "irp_job_progress"

# Batch statuses that may still change by themselves (the guard's "active").
ACTIVE_STATUSES = frozenset({"INITIATED", "ACTIVE"})
# Job statuses of a job that has not finished; every other status is finished.
UNFINISHED_JOB_STATUSES = frozenset({"INITIATED", "SUBMITTED", "QUEUED", "PENDING", "RUNNING"})


@dataclass(frozen=True)
class BatchEvent:
    """One notification, parsed.

    ``channel`` is ``"irp_batch_events"`` (an audit event: ``event``,
    ``event_id``, ``status`` after the event, ``configuration_id``,
    ``batch_type``, ``actor``) or ``"irp_job_progress"`` (a statement
    changed the batch's jobs: ``total`` jobs and ``counts`` by status, non-zero
    only; the other fields are None). ``payload`` is the whole JSON object.
    """

    channel: str
    batch_id: int
    event: Optional[str] = None
    status: Optional[str] = None
    event_id: Optional[int] = None
    configuration_id: Optional[int] = None
    batch_type: Optional[str] = None
    actor: Optional[str] = None
    total: Optional[int] = None
    counts: Dict[str, int] = field(default_factory=dict)
    payload: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> Optional[int]:
        """Of a job-progress message: how many of the batch's jobs have finished."""
        if self.total is None:
            return None
        return sum(n for s, n in self.counts.items() if s not in UNFINISHED_JOB_STATUSES)


def _parse(channel: str, payload: str) -> Optional[BatchEvent]:
    """The event a payload describes; None for one that is not the server's (anyone may NOTIFY)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    batch_id = data.get("batch_id")
    if isinstance(batch_id, bool) or not isinstance(batch_id, int):
        return None

    def number(key: str) -> Optional[int]:
        value = data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def text(key: str) -> Optional[str]:
        value = data.get(key)
        return value if isinstance(value, str) else None

    if channel == PROGRESS_CHANNEL:
        counts = data.get("counts")
        counts = {str(k): v for k, v in counts.items() if isinstance(v, int)} if isinstance(counts, dict) else {}
        return BatchEvent(channel, batch_id, total=number("total"), counts=counts, payload=data)
    return BatchEvent(channel, batch_id, event=text("event"), status=text("status"), event_id=number("event_id"),
                      configuration_id=number("configuration_id"), batch_type=text("batch_type"),
                      actor=text("actor"), payload=data)


class _Listener:
    """A connection that LISTENs on some channels, and a wait for their notifications with a deadline."""

    def __init__(self, channels: Sequence[str], conn: Optional[psycopg.Connection]) -> None:
        self._own = conn is None
        self._backlog: Deque[psycopg.Notify] = deque()
        self._channels = list(channels)
        self._selector: Optional[selectors.BaseSelector] = None
        self.conn = _listen_connect() if conn is None else conn
        try:
            if self._own:
                self.conn.autocommit = True     # notifications arrive only outside transactions
            elif self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                raise BatchError("watch() needs a connection with no transaction in progress (autocommit, or "
                                 "committed): notifications are delivered only between transactions")
            self.conn.add_notify_handler(self._backlog.append)
            for channel in self._channels:
                self.conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)), prepare=False)
            if not self.conn.autocommit:
                self.conn.commit()              # LISTEN takes effect at commit
            self._selector = selectors.DefaultSelector()
            self._selector.register(self.conn.fileno(), selectors.EVENT_READ)
        except psycopg.Error as e:
            self.close()
            raise _translate(e) from e
        except BaseException:
            self.close()
            raise

    def wait(self, deadline: Optional[float]) -> List[psycopg.Notify]:
        """The notifications received so far, waiting for some until ``deadline`` (time.monotonic(); None: forever).

        Returns an empty list only when the deadline has passed.
        """
        conn = self.conn
        encoding = conn.info.encoding
        while not self._backlog:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return []
            if self._selector is None:
                raise BatchError("the watch is closed")
            if not self._selector.select(remaining):
                continue
            try:
                with conn.lock:
                    conn.pgconn.consume_input()     # raises if the server closed the connection
                    while True:
                        n = conn.pgconn.notifies()
                        if n is None:
                            break
                        self._backlog.append(psycopg.Notify(n.relname.decode(encoding), n.extra.decode(encoding),
                                                            n.be_pid))
            except psycopg.Error as e:
                raise _translate(e) from e
        notifies = list(self._backlog)
        self._backlog.clear()
        return notifies

    def close(self) -> None:
        """Stops listening: closes the connection it opened, or UNLISTENs on yours."""
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        conn = self.conn
        try:
            conn.remove_notify_handler(self._backlog.append)
        except ValueError:
            pass
        if self._own:
            conn.close()
        elif not conn.closed:
            try:
                for channel in self._channels:
                    conn.execute(sql.SQL("UNLISTEN {}").format(sql.Identifier(channel)), prepare=False)
                if not conn.autocommit:
                    conn.commit()
            except psycopg.Error:
                pass                            # a broken connection of yours listens to nothing


class BatchWatch(Iterator[BatchEvent]):
    """What ``watch()`` returns: an iterator of ``BatchEvent``, already listening.

    Ends when the timeout has passed. ``close()`` (or leaving a ``with`` block)
    stops listening; so does the end of the iteration.
    """

    def __init__(self, configuration_id: Optional[int], batch_ids: Optional[Iterable[int]],
                 timeout: Optional[float], progress: bool, schema: Optional[str],
                 conn: Optional[psycopg.Connection]) -> None:
        self.configuration_id = _integer("configuration_id", configuration_id)
        if isinstance(batch_ids, (str, bytes)):
            raise TypeError("batch_ids must be a list of integers")
        self.batch_ids = None if batch_ids is None else frozenset(_integer("batch_ids[]", b) for b in batch_ids)
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or timeout < 0):
            raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
        self._schema_arg = schema
        self._schema: Optional[str] = None
        self._configurations: Dict[int, Optional[int]] = {}   # batch_id -> configuration_id, as last known
        self._ready: Deque[BatchEvent] = deque()
        channels = [EVENTS_CHANNEL] + ([PROGRESS_CHANNEL] if progress else [])
        self._listener: Optional[_Listener] = _Listener(channels, conn)
        self._deadline = None if timeout is None else time.monotonic() + timeout

    def __iter__(self) -> "BatchWatch":
        return self

    def __next__(self) -> BatchEvent:
        while not self._ready:
            if self._listener is None:
                raise StopIteration
            notifies = self._listener.wait(self._deadline)
            if not notifies:
                self.close()
                raise StopIteration
            for n in notifies:
                event = _parse(n.channel, n.payload)
                if event is not None and self._wanted(event):
                    self._ready.append(event)
        return self._ready.popleft()

    def _wanted(self, event: BatchEvent) -> bool:
        if self.batch_ids is not None and event.batch_id not in self.batch_ids:
            return False
        if self.configuration_id is None:
            return True
        if event.channel == EVENTS_CHANNEL:
            # An event that moves a batch out of the configuration (KEY_CHANGED) still belongs to it.
            before = self._configurations.get(event.batch_id)
            self._configurations[event.batch_id] = event.configuration_id
            return self.configuration_id in (event.configuration_id, before)
        if event.batch_id not in self._configurations:
            self._configurations[event.batch_id] = self._configuration_of(event.batch_id)
        return self._configurations[event.batch_id] == self.configuration_id

    def _configuration_of(self, batch_id: int) -> Optional[int]:
        """A job-progress message names only the batch: its configuration, from the table."""
        assert self._listener is not None
        conn = self._listener.conn
        try:
            if self._schema is None:
                self._schema = _schema(conn, self._schema_arg)
            query = sql.SQL("SELECT configuration_id FROM {}.irp_batch WHERE id = %s").format(
                sql.Identifier(self._schema))
            with conn.transaction():
                row = conn.execute(query, (batch_id,), prepare=False).fetchone()
        except psycopg.Error as e:
            raise _translate(e) from e
        return None if row is None else row[0]

    def close(self) -> None:
        """Stops listening (UNLISTEN, and closes the connection watch() opened). Idempotent."""
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.close()

    def __enter__(self) -> "BatchWatch":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def watch(configuration_id: Optional[int] = None, batch_ids: Optional[Iterable[int]] = None,
          timeout: Optional[float] = None, *, progress: bool = False, schema: Optional[str] = None,
          conn: Optional[psycopg.Connection] = None) -> BatchWatch:
    """Batch events as they are committed, as an iterator of ``BatchEvent``.

    It LISTENs before it returns, on a connection of its own (as configured;
    ``configure(listen_conninfo=...)`` names another server for it, needed
    behind pgbouncer in transaction mode): what commits after ``watch()``
    returned is seen, rolled-back work never. ``configuration_id`` and
    ``batch_ids`` keep only the events of that configuration and of those
    batches (both: both must match). ``progress=True`` also yields the
    job-progress messages (``channel`` ``"irp_job_progress"``: ``total`` and
    ``counts``). The iteration ends ``timeout`` seconds after the call (None:
    never). ``close()``, a ``with`` block or the end of the iteration stops
    listening and closes the connection. With ``conn=`` (autocommit, or with
    no transaction open) it LISTENs on yours, and UNLISTENs when closed.
    ``schema`` is used only to look up a batch's configuration.

        for event in irp.watch(configuration_id=42, timeout=600):
            print(event.batch_id, event.event, event.status, event.actor)
    """
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, not {progress!r}")
    return BatchWatch(configuration_id, batch_ids, timeout, progress, schema, conn)


def _ids(batch_ids: Any) -> List[int]:
    if batch_ids is None or isinstance(batch_ids, (str, bytes)):
        raise TypeError("batch_ids must be a list of integers")
    ids: List[int] = []
    for b in batch_ids:
        i = _integer("batch_ids[]", b)
        if i is None:
            raise TypeError("batch_ids[] must be an integer, not None")
        if i not in ids:
            ids.append(i)
    return ids


def _progress_rows(conn: psycopg.Connection, ids: List[int], schema: Optional[str]) -> Dict[int, Dict[str, Any]]:
    query = sql.SQL("SELECT p.batch_id, p.status::text AS status, b.batch_type::text AS batch_type,"
                    " b.configuration_id, p.total_jobs, p.counts, p.finished_fraction, p.last_change, p.stale"
                    " FROM {}(%s::integer[]) p LEFT JOIN {} b ON b.id = p.batch_id"
                    " ORDER BY array_position(%s::integer[], p.batch_id)").format(
        _function(conn, "irp_batch_progress", schema), _function(conn, "irp_batch", schema))
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, (ids, ids), prepare=False).fetchall()
    for row in rows:
        row["counts"] = dict(row["counts"] or {})
        row["finished_jobs"] = sum(n for s, n in row["counts"].items() if s not in UNFINISHED_JOB_STATUSES)
    return {row["batch_id"]: row for row in rows}


def batch_progress(batch_ids: Iterable[int], *, schema: Optional[str] = None,
                   conn: Optional[psycopg.Connection] = None) -> List[Dict[str, Any]]:
    """One dict per batch, in the order given, from ``irp_batch_progress``.

    Keys: ``batch_id``, ``status``, ``batch_type``, ``configuration_id``,
    ``total_jobs``, ``counts`` (``{job status: count}``, non-zero only),
    ``finished_jobs``, ``finished_fraction`` (None without jobs),
    ``last_change``, ``stale``. Raises ``BatchNotFoundError`` for an unknown batch.
    """
    ids = _ids(batch_ids)
    with _transaction(conn) as c:
        rows = _progress_rows(c, ids, schema)
    missing = [i for i in ids if i not in rows]
    if missing:
        raise BatchNotFoundError(f"Batch {missing[0]} not found", batch_id=missing[0], sqlstate="P0002")
    return [rows[i] for i in ids]


def get_batches_for_config(configuration_id: int, *, schema: Optional[str] = None,
                           conn: Optional[psycopg.Connection] = None) -> List[Dict[str, Any]]:
    """Every batch of a configuration, whatever its status, oldest first, with its progress.

    Dicts with the keys of ``batch_progress()`` and ``duplicate_of``,
    ``created_ts``, ``created_by``.
    """
    config = _integer("configuration_id", configuration_id)
    with _transaction(conn) as c:
        query = sql.SQL("SELECT b.id FROM {} b WHERE b.configuration_id = %s ORDER BY b.created_ts, b.id").format(
            _function(c, "irp_batch", schema))
        ids = [r[0] for r in c.execute(query, (config,), prepare=False)]
        rows = _progress_rows(c, ids, schema) if ids else {}
        query = sql.SQL("SELECT id, duplicate_of, created_ts, created_by FROM {} WHERE id = ANY(%s)").format(
            _function(c, "irp_batch", schema))
        for batch_id, duplicate_of, created_ts, created_by in c.execute(query, (ids,), prepare=False):
            if batch_id in rows:
                rows[batch_id].update(duplicate_of=duplicate_of, created_ts=created_ts, created_by=created_by)
    return [rows[i] for i in ids if i in rows]


def _in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (tqdm.autonotebook's test)."""
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None    # type: ignore[attr-defined]
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:
        return False


def _widgets_work() -> bool:
    """ipywidgets 7 or later: Debian 12's python3-ipywidgets is 6.0.0, whose widget messages
    nbclient 0.7 (nbconvert --execute) rejects (KeyError: 'state') and current Jupyter front-ends do not draw."""
    try:
        import ipywidgets
        return int(str(ipywidgets.__version__).split(".")[0]) >= 7
    except Exception:
        return False


class _DisplayBar:
    """A progress bar that is a Jupyter display, updated in place: tqdm's text, and an HTML <progress>.

    For kernels where tqdm.auto's widgets cannot be drawn: tqdm's text bars
    on a stream stack up there (a stream cannot move the cursor up to the
    bar of another batch). The notebook keeps the last state of each.
    """

    def __init__(self, total: int, desc: str, format_meter: Any) -> None:
        from IPython.display import display
        self.total, self.n, self.desc, self.status, self.colour = total, 0, desc, "", None
        self._format_meter = format_meter
        self._start = time.monotonic()
        self._stopped: Optional[float] = None     # when the batch became terminal: the clock stops
        self._handle = display(self._bundle(), raw=True, display_id=True)

    def _bundle(self) -> Dict[str, str]:
        import html
        elapsed = (self._stopped or time.monotonic()) - self._start
        text = self._format_meter(self.n, self.total, elapsed, ncols=100, prefix=self.desc,
                                  unit="job", postfix=self.status or None)
        colour = "#de2d26" if self.colour else "#31a354" if self.status == "COMPLETED" else "#3182bd"
        return {"text/plain": text,
                "text/html": (f'<div style="font-family: monospace; white-space: pre">'
                              f'<progress value="{self.n}" max="{max(self.total, 1)}" style="width: 20em; '
                              f'accent-color: {colour}"></progress> {html.escape(text)}</div>')}

    def reset(self, total: int) -> None:
        self.total = total

    def set_postfix_str(self, status: str, refresh: bool = True) -> None:
        self.status = status
        if status not in ACTIVE_STATUSES and self._stopped is None:
            self._stopped = time.monotonic()

    def refresh(self) -> None:
        self._handle.update(self._bundle(), raw=True)

    def close(self) -> None:
        self.refresh()


class _Bars:
    """One progress bar per batch, or none.

    tqdm.auto's choice: text on the terminal, widgets in a Jupyter kernel
    (ipywidgets 7 or later); in a kernel without such widgets, one display per
    batch updated in place (_DisplayBar).
    """

    def __init__(self, rows: List[Dict[str, Any]], show: bool) -> None:
        self._bars: Dict[int, Any] = {}
        if not show:
            return
        try:
            from tqdm.auto import tqdm
            from tqdm.std import tqdm as text_tqdm
        except ImportError as e:
            raise ImportError("wait_for_batches(progress=True) needs tqdm: apt install python3-tqdm "
                              "(python3-ipywidgets for bars as widgets in notebooks), or "
                              "pip install 'irp-batch-client[notebook]'; progress=False shows none") from e
        for position, row in enumerate(rows):
            label = f"batch {row['batch_id']}" + (f" {row['batch_type']}" if row.get("batch_type") else "")
            if not _in_kernel():
                bar = text_tqdm(total=row["total_jobs"], desc=label, unit="job", position=position, leave=True,
                                dynamic_ncols=True)
            elif _widgets_work():
                bar = tqdm(total=row["total_jobs"], desc=label, unit="job", leave=True)
            else:
                bar = _DisplayBar(row["total_jobs"], label, text_tqdm.format_meter)
            self._bars[row["batch_id"]] = bar
            self.update(row["batch_id"], row["status"], row["total_jobs"], row["finished_jobs"])

    def update(self, batch_id: int, status: str, total: int, finished: int) -> None:
        bar = self._bars.get(batch_id)
        if bar is None:
            return
        if bar.total != total:
            bar.reset(total=total)      # tqdm.notebook's widget learns a new total only here
        bar.n = finished
        bar.set_postfix_str(status, refresh=False)
        if status not in ACTIVE_STATUSES and status != "COMPLETED":
            bar.colour = "red"          # FAILED, CANCELLED, DELETED: not a success, even with every job finished
        bar.refresh()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()


def wait_for_batches(batch_ids: Iterable[int], progress: bool = True, timeout: Optional[float] = None, *,
                     schema: Optional[str] = None) -> Dict[int, str]:
    """Waits until every batch is terminal; returns ``{batch_id: final status}`` in the order given.

    A batch is terminal when its status is no longer INITIATED or ACTIVE
    (COMPLETED, FAILED, CANCELLED, ...), whatever its jobs say. It LISTENs
    first, then reads ``irp_batch_progress`` once, so a change committed in
    between is in that read or arrives as a notification; job counts then
    come from the ``irp_job_progress`` messages, and each batch event
    re-reads that batch. ``progress=True`` shows one tqdm bar per batch
    (finished jobs of all jobs, the batch status beside it): ``tqdm.auto``,
    so widgets in Jupyter (python3-ipywidgets) and text in a terminal.

    Raises ``BatchWaitTimeout`` (a ``TimeoutError`` and a ``BatchError``)
    after ``timeout`` seconds (None: never) naming the batches still active,
    ``BatchNotFoundError`` for an unknown batch. Uses its own connection
    (``configure(listen_conninfo=...)`` behind pgbouncer in transaction mode).
    """
    ids = _ids(batch_ids)
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, not {progress!r}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0):
        raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    if not ids:
        return {}
    wanted = set(ids)
    listener = _Listener([EVENTS_CHANNEL, PROGRESS_CHANNEL], None)
    bars: Optional[_Bars] = None
    try:
        conn = listener.conn

        def read(which: List[int]) -> Dict[int, Dict[str, Any]]:
            try:
                return _progress_rows(conn, which, schema)      # autocommit: a transaction of its own
            except psycopg.Error as e:
                raise _translate(e) from e

        state = read(ids)
        missing = [i for i in ids if i not in state]
        if missing:
            raise BatchNotFoundError(f"Batch {missing[0]} not found", batch_id=missing[0], sqlstate="P0002")
        bars = _Bars([state[i] for i in ids], progress)
        while any(state[i]["status"] in ACTIVE_STATUSES for i in ids):
            notifies = listener.wait(deadline)
            if not notifies:
                active = {i: state[i]["status"] for i in ids if state[i]["status"] in ACTIVE_STATUSES}
                raise BatchWaitTimeout(
                    f"{len(active)} of {len(ids)} batch(es) still active after {timeout:g} s: "
                    + ", ".join(f"batch {i} ({s})" for i, s in active.items()),
                    active=active, statuses={i: state[i]["status"] for i in ids})
            changed_batches: List[int] = []
            for n in notifies:
                event = _parse(n.channel, n.payload)
                if event is None or event.batch_id not in wanted:
                    continue
                row = state[event.batch_id]
                if event.channel == PROGRESS_CHANNEL and event.total is not None:
                    row["total_jobs"], row["counts"] = event.total, event.counts
                    row["finished_jobs"] = event.finished or 0
                elif event.channel == EVENTS_CHANNEL and event.batch_id not in changed_batches:
                    changed_batches.append(event.batch_id)
                if bars is not None:
                    bars.update(event.batch_id, row["status"], row["total_jobs"], row["finished_jobs"])
            if changed_batches:
                fresh = read(changed_batches)
                for i in changed_batches:
                    if i in fresh:
                        state[i] = fresh[i]
                    else:       # deleted: its last event said what it was
                        state[i]["status"] = "DELETED"
                    if bars is not None:
                        row = state[i]
                        bars.update(i, row["status"], row["total_jobs"], row["finished_jobs"])
        return {i: state[i]["status"] for i in ids}
    finally:
        if bars is not None:
            bars.close()
        listener.close()
