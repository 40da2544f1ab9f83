"""watch(), batch_progress() and wait_for_batches() (issue 16): a real LISTEN on the real server.

The server NOTIFYs each audit event on irp_batch_events and, per statement
that touched jobs, each batch's job counts on irp_job_progress, at commit.
Every wait here is bounded: an iteration that would never end runs in a
thread that the test gives up on (and fails) after a while.
"""
import threading
import time

import psycopg
import pytest

import irp_batch_client as irp
from conftest import LISTEN_CONNINFO, OPTIONS


def connection(database):
    return psycopg.connect(dbname=database, autocommit=True, options=OPTIONS)


def listen_connection(database):
    """A connection that can LISTEN: the server itself, also when libpq's environment names pgbouncer."""
    return psycopg.connect(LISTEN_CONNINFO or "", dbname=database, autocommit=True, options=OPTIONS)


def take(events, n, limit=20.0):
    """The first n events of an iterator (fewer if it ends), or fails if that takes longer than limit seconds."""
    got = []
    failure = []

    def run():
        try:
            for event in events:
                got.append(event)
                if len(got) == n:
                    break
        except BaseException as e:      # handed to the test
            failure.append(e)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit)
    assert not worker.is_alive(), f"no end after {limit} s: got {got}"
    if failure:
        raise failure[0]
    return got


def listeners(db):
    """The backends whose last statement was a LISTEN or the progress read: the connections of
    watch() and wait_for_batches(), and (through pgbouncer) pooled ones that ran batch_progress()."""
    return db.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                      " AND (query LIKE 'LISTEN %%' OR query LIKE '%%irp_batch_progress\"(%%')"
                      " AND pid <> pg_backend_pid()").fetchone()[0]


def eventually(check, limit=10.0):
    """check() becomes true within limit seconds (a closed connection's backend takes a moment to exit)."""
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, f"still not so after {limit} s"
        time.sleep(0.05)


def event_ids(db, batch_id):
    return [r[0] for r in db.execute("SELECT id FROM irp_batch_event WHERE batch_id = %s ORDER BY id", (batch_id,))]


def current_user(db):
    return db.execute("SELECT current_user").fetchone()[0]


def set_jobs(database, batch_id, status):
    with connection(database) as c:
        c.execute("UPDATE irp_job SET status = %s WHERE batch_id = %s", (status, batch_id))


def set_batch(database, batch_id, status):
    with connection(database) as c:
        c.execute("UPDATE irp_batch SET status = %s WHERE id = %s", (status, batch_id))


def later(delay, *steps):
    """Runs the steps (callables) in a thread, delay seconds apart: the job runner the tests wait for."""
    def run():
        for step in steps:
            time.sleep(delay)
            step()
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker


# watch()

def test_watch_yields_committed_events_with_their_payload(db, config_id, step_id):
    with irp.watch(configuration_id=config_id, timeout=20) as events:
        # watch() has LISTENed when it returns: this batch's events, committed before the first next(), arrive.
        batch = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"edm": "A"}])
        irp.cancel_batch(batch, reason="watched")
        got = take(events, 2)
    user = current_user(db)
    assert [(e.channel, e.batch_id, e.event, e.status, e.configuration_id, e.batch_type, e.actor) for e in got] == [
        ("irp_batch_events", batch, "CREATED", "INITIATED", config_id, "EDM_CREATION", user),
        ("irp_batch_events", batch, "CANCELLED", "CANCELLED", config_id, "EDM_CREATION", user)]
    assert [e.event_id for e in got] == event_ids(db, batch)
    assert got[0].payload["event_id"] == got[0].event_id
    assert (got[0].total, got[0].counts) == (None, {})


def test_watch_sees_nothing_of_rolled_back_work(database, config_id, step_id):
    with irp.watch(configuration_id=config_id, timeout=20) as events:
        with connection(database) as c:
            with pytest.raises(RuntimeError):
                with c.transaction():
                    irp.create_batch("EDM_CREATION", config_id, step_id, conn=c)
                    raise RuntimeError("roll back")
        committed = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id)
        got = take(events, 1)
    assert [(e.batch_id, e.event) for e in got] == [(committed, "CREATED")]


def test_watch_filters_by_configuration_and_batch(database, config_id, step_id):
    other_config = config_id + 100000
    mine = irp.create_batch("EDM_CREATION", config_id, step_id)
    also_mine = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id)
    by_config = irp.watch(configuration_id=config_id, timeout=20)
    by_batch = irp.watch(batch_ids=[also_mine], timeout=20)
    by_both = irp.watch(configuration_id=config_id, batch_ids=[mine, 2**31 - 1], timeout=20)
    everything = irp.watch(timeout=20)
    try:
        theirs = irp.create_batch("EDM_CREATION", other_config, step_id)
        set_batch(database, mine, "ACTIVE")
        set_batch(database, also_mine, "ACTIVE")
        irp.cancel_batch(theirs, reason="done")
        # The last event of all; each watch is read until it has seen it.
        end = irp.create_batch("ANALYSIS", config_id, step_id)

        def until_end(events, n):
            got = take(events, n)
            return [(e.batch_id, e.event) for e in got]

        assert until_end(by_config, 3) == [(mine, "STATUS_CHANGED"), (also_mine, "STATUS_CHANGED"), (end, "CREATED")]
        assert until_end(by_batch, 1) == [(also_mine, "STATUS_CHANGED")]
        assert until_end(by_both, 1) == [(mine, "STATUS_CHANGED")]
        all_events = until_end(everything, 5)
        assert all_events == [(theirs, "CREATED"), (mine, "STATUS_CHANGED"), (also_mine, "STATUS_CHANGED"),
                              (theirs, "CANCELLED"), (end, "CREATED")]
    finally:
        for w in (by_config, by_batch, by_both, everything):
            w.close()


def test_watch_progress_adds_job_counts_of_the_configurations_batches(database, config_id, step_id):
    other_config = config_id + 100000
    with irp.watch(configuration_id=config_id, progress=True, timeout=20) as events, \
            irp.watch(configuration_id=config_id, timeout=20) as without_progress:
        theirs = irp.create_batch("EDM_CREATION", other_config, step_id, jobs=[{"n": 1}])
        set_jobs(database, theirs, "RUNNING")
        batch = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"n": n} for n in range(3)])
        with connection(database) as c:
            c.execute("UPDATE irp_job SET status = 'RUNNING' WHERE id = (SELECT min(id) FROM irp_job"
                      " WHERE batch_id = %s)", (batch,))
        got = take(events, 3)
        plain = take(without_progress, 1)
    assert [(e.channel, e.batch_id) for e in got] == [
        ("irp_batch_events", batch), ("irp_job_progress", batch), ("irp_job_progress", batch)]
    assert [(e.total, e.counts, e.finished) for e in got[1:]] == [
        (3, {"INITIATED": 3}, 0), (3, {"INITIATED": 2, "RUNNING": 1}, 0)]
    assert got[1].event is None and got[1].status is None
    assert [(e.channel, e.batch_id, e.event) for e in plain] == [("irp_batch_events", batch, "CREATED")]


def test_watch_ends_after_its_timeout(db):
    before = listeners(db)
    started = time.monotonic()
    events = irp.watch(timeout=1.5)
    assert listeners(db) == before + 1
    assert take(events, 1) == []
    elapsed = time.monotonic() - started
    assert 1.4 <= elapsed < 6, elapsed
    eventually(lambda: listeners(db) == before)     # the end of the iteration closed its connection
    started = time.monotonic()
    assert take(irp.watch(timeout=0), 1) == []
    assert time.monotonic() - started < 3


def test_watch_timeout_counts_the_whole_wait_not_each_event(database, config_id, step_id):
    events = irp.watch(configuration_id=config_id, timeout=2.5)
    ticker = later(0.5, *[lambda i=i: irp.create_batch(f"T{i}", config_id, step_id) for i in range(3)])
    started = time.monotonic()
    got = take(events, 100)
    ticker.join()
    assert len(got) == 3
    assert time.monotonic() - started < 6


def test_watch_close_stops_listening(db, database):
    before = listeners(db)
    events = irp.watch(timeout=30)
    assert listeners(db) == before + 1
    events.close()
    events.close()
    eventually(lambda: listeners(db) == before)
    assert take(events, 1, limit=5) == []
    # On a connection of yours: UNLISTEN, and your connection stays open.
    with listen_connection(database) as mine:
        with irp.watch(timeout=30, progress=True, conn=mine):
            assert sorted(r[0] for r in mine.execute("SELECT pg_listening_channels()")) == [
                "irp_batch_events", "irp_job_progress"]
        assert mine.execute("SELECT pg_listening_channels()").fetchall() == []
        assert not mine.closed


def test_watch_on_your_connection_receives_events(database, config_id, step_id):
    with listen_connection(database) as mine:
        with irp.watch(configuration_id=config_id, timeout=20, conn=mine) as events:
            batch = irp.create_batch("EDM_CREATION", config_id, step_id)
            assert [(e.batch_id, e.event) for e in take(events, 1)] == [(batch, "CREATED")]
    with listen_connection(database) as mine:
        mine.autocommit = False
        mine.execute("SELECT 1")
        with pytest.raises(irp.BatchError, match="no transaction in progress"):
            irp.watch(conn=mine)


def test_watch_skips_payloads_that_are_not_the_servers(database, config_id, step_id):
    with irp.watch(timeout=20) as events:
        with connection(database) as c:
            for payload in ["not json", "[1, 2]", '{"batch_id": "7"}', '{"event": "CREATED"}']:
                c.execute("SELECT pg_notify('irp_batch_events', %s)", (payload,))
        batch = irp.create_batch("EDM_CREATION", config_id, step_id)
        got = take(events, 1)
    assert [(e.batch_id, e.event) for e in got] == [(batch, "CREATED")]


def test_watch_raises_when_its_connection_is_lost(db):
    events = irp.watch(timeout=30)
    killed = db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND query LIKE 'LISTEN %%' AND pid <> pg_backend_pid()").fetchall()
    assert killed == [(True,)]
    with pytest.raises(irp.BatchError) as info:
        take(events, 1)
    assert info.value.sqlstate in (None, "57P01")
    events.close()


def test_watch_refuses_wrong_types():
    with pytest.raises(TypeError):
        irp.watch(configuration_id="42")
    with pytest.raises(TypeError):
        irp.watch(batch_ids="12")
    with pytest.raises(ValueError):
        irp.watch(timeout=-1)
    with pytest.raises(TypeError):
        irp.watch(progress=1)


# batch_progress()

def test_batch_progress_counts_jobs_by_status(db, config_id, step_id):
    batch = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"n": n} for n in range(4)])
    empty = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id)
    db.execute("UPDATE irp_job SET status = 'FINISHED' WHERE id IN (SELECT id FROM irp_job WHERE batch_id = %s"
               " ORDER BY id LIMIT 1)", (batch,))
    db.execute("UPDATE irp_job SET status = 'RUNNING' WHERE id IN (SELECT id FROM irp_job WHERE batch_id = %s"
               " AND status = 'INITIATED' ORDER BY id LIMIT 1)", (batch,))
    rows = irp.batch_progress([empty, batch])
    assert [(r["batch_id"], r["status"], r["batch_type"], r["configuration_id"], r["total_jobs"], r["counts"],
             r["finished_jobs"], r["finished_fraction"], r["stale"]) for r in rows] == [
        (empty, "INITIATED", "PORTFOLIO_CREATION", config_id, 0, {}, 0, None, False),
        (batch, "INITIATED", "EDM_CREATION", config_id, 4, {"INITIATED": 2, "RUNNING": 1, "FINISHED": 1}, 1, 0.25,
         False)]
    assert rows[1]["last_change"] is not None
    with pytest.raises(irp.BatchNotFoundError) as info:
        irp.batch_progress([batch, 2**31 - 1])
    assert info.value.batch_id == 2**31 - 1


def test_get_batches_for_config_lists_every_batch_with_its_progress(db, config_id, step_id):
    first = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"n": 1}, {"n": 2}])
    db.execute("UPDATE irp_batch SET status = 'COMPLETED' WHERE id = %s", (first,))
    db.execute("UPDATE irp_job SET status = 'FINISHED' WHERE batch_id = %s", (first,))
    second = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"n": 1}])
    duplicate = irp.create_batch("EDM_CREATION", config_id, step_id, allow_duplicate=True)
    irp.create_batch("EDM_CREATION", config_id + 100000, step_id)
    rows = irp.get_batches_for_config(config_id)
    assert [(r["batch_id"], r["status"], r["batch_type"], r["total_jobs"], r["finished_jobs"], r["duplicate_of"],
             r["created_by"]) for r in rows] == [
        (first, "COMPLETED", "EDM_CREATION", 2, 2, None, current_user(db)),
        (second, "INITIATED", "EDM_CREATION", 1, 0, None, current_user(db)),
        (duplicate, "INITIATED", "EDM_CREATION", 0, 0, second, current_user(db))]
    assert all(r["created_ts"] is not None for r in rows)
    assert irp.get_batches_for_config(config_id + 200000) == []


# wait_for_batches()

def test_wait_returns_the_final_statuses_when_all_are_terminal(database, config_id, step_id, capsys):
    edm = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"n": n} for n in range(3)])
    portfolio = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id, jobs=[{"n": n} for n in range(2)])
    runner = later(0.3,
                   lambda: set_batch(database, edm, "ACTIVE"),
                   lambda: set_jobs(database, edm, "SUBMITTED"),
                   lambda: set_jobs(database, edm, "RUNNING"),
                   lambda: set_jobs(database, edm, "FINISHED"),
                   lambda: set_batch(database, edm, "COMPLETED"),
                   lambda: set_jobs(database, portfolio, "FAILED"),
                   lambda: set_batch(database, portfolio, "FAILED"))
    started = time.monotonic()
    result = irp.wait_for_batches([portfolio, edm], timeout=30)
    elapsed = time.monotonic() - started
    runner.join()
    assert result == {portfolio: "FAILED", edm: "COMPLETED"}
    assert list(result) == [portfolio, edm]
    assert elapsed < 15, elapsed            # on the last change, not at the timeout
    bars = capsys.readouterr().err          # tqdm.auto in a terminal: text bars on stderr
    assert f"batch {edm} EDM_CREATION" in bars and f"batch {portfolio} PORTFOLIO_CREATION" in bars
    last = {b: [line for line in bars.replace("\r", "\n").splitlines() if line.startswith(f"batch {b} ")][-1]
            for b in (edm, portfolio)}
    assert "3/3" in last[edm] and "COMPLETED" in last[edm]
    assert "2/2" in last[portfolio] and "FAILED" in last[portfolio]
    assert f"0/3" in bars               # the bars started from what was read


def test_wait_ends_when_the_batch_status_says_so_whatever_the_jobs(database, config_id, step_id, capsys):
    batch = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"n": n} for n in range(3)])
    later(0.5, lambda: irp.cancel_batch(batch, reason="not needed"))
    assert irp.wait_for_batches([batch], progress=False, timeout=30) == {batch: "CANCELLED"}
    assert capsys.readouterr().err == ""    # progress=False: no bars


def test_wait_returns_at_once_for_batches_already_terminal(database, config_id, step_id):
    batch = irp.create_batch("EDM_CREATION", config_id, step_id)
    set_batch(database, batch, "COMPLETED")
    started = time.monotonic()
    assert irp.wait_for_batches([batch, batch], progress=False, timeout=30) == {batch: "COMPLETED"}
    assert time.monotonic() - started < 5
    assert irp.wait_for_batches([], timeout=1) == {}


def test_wait_times_out_naming_the_batches_still_active(db, database, config_id, step_id):
    before = listeners(db)
    done = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"n": 1}])
    stuck = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id, jobs=[{"n": 1}])
    later(0.2, lambda: set_batch(database, done, "COMPLETED"), lambda: set_batch(database, stuck, "ACTIVE"))
    started = time.monotonic()
    with pytest.raises(irp.BatchWaitTimeout) as info:
        irp.wait_for_batches([done, stuck], progress=False, timeout=2)
    elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 8, elapsed
    e = info.value
    assert isinstance(e, TimeoutError) and isinstance(e, irp.BatchError)
    assert e.active == {stuck: "ACTIVE"}
    assert e.statuses == {done: "COMPLETED", stuck: "ACTIVE"}
    assert str(e) == f"1 of 2 batch(es) still active after 2 s: batch {stuck} (ACTIVE)"
    eventually(lambda: listeners(db) == before)     # its connection is closed


def test_wait_for_an_unknown_batch(config_id, step_id):
    batch = irp.create_batch("EDM_CREATION", config_id, step_id)
    with pytest.raises(irp.BatchNotFoundError) as info:
        irp.wait_for_batches([batch, 2**31 - 1], timeout=5)
    assert info.value.batch_id == 2**31 - 1
    with pytest.raises(TypeError):
        irp.wait_for_batches("12")
    with pytest.raises(TypeError):
        irp.wait_for_batches([1.0])
    with pytest.raises(ValueError):
        irp.wait_for_batches([batch], timeout=-1)
