"""Retries on connection loss, and request_id, against the real server.

Connections are lost on purpose by a TCP proxy between the client and the
server (faults.py) or by pg_terminate_backend. The worst case is a reply
lost after the server committed: without a request_id the client cannot
tell that its batch exists, with one its retry returns that batch.
"""
import threading
import time
import uuid

import psycopg
import pytest

import irp_batch_client as irp
from conftest import OPTIONS
from faults import COMMIT_REPLY, RESULT_OF, FaultProxy, free_port

JOBS = [{"edm": "A"}, {"edm": "B"}, {"edm": "C"}]


@pytest.fixture
def proxy(db):
    """A FaultProxy in front of the server the tests use (or the pooler in front of it)."""
    with FaultProxy(db.info.host, db.info.port) as p:
        yield p


@pytest.fixture
def via_proxy(proxy, database):
    """The client configured to connect through the proxy, with short waits between attempts."""
    irp.configure(proxy.conninfo(dbname=database, options=OPTIONS), attempts=5, backoff=0.05)
    return proxy


def key_batches(db, config_id):
    """(id, request_id, jobs, creation events) of the key's batches."""
    return db.execute(
        "SELECT b.id, b.request_id,"
        " (SELECT count(*) FROM irp_job j WHERE j.batch_id = b.id),"
        " (SELECT string_agg(e.event || ':' || coalesce(e.details->>'request_id', '-'), ',')"
        "    FROM irp_batch_event e WHERE e.batch_id = b.id)"
        " FROM irp_batch b WHERE b.configuration_id = %s ORDER BY b.id", (config_id,)).fetchall()


# The worst case: committed, then the reply is lost.

def test_lost_commit_reply_without_request_id_the_retry_names_its_own_batch(db, via_proxy, config_id, step_id):
    """What request_id protects against: the client cannot tell its batch from someone else's."""
    via_proxy.drop_at(COMMIT_REPLY)
    with pytest.raises(irp.BatchError) as lost:
        irp.create_batch("EDM_CREATION", config_id, step_id, jobs=JOBS, request_id=False)
    assert lost.value.sqlstate is None and lost.value.attempts == 1        # no retry without a request_id
    assert via_proxy.dropped == 1
    [(created, request_id, jobs, events)] = key_batches(db, config_id)    # yet it was committed
    assert (request_id, jobs, events) == (None, 3, "CREATED:-")
    with pytest.raises(irp.DuplicateBatchError) as retry:                  # the caller's own retry
        irp.create_batch("EDM_CREATION", config_id, step_id, jobs=JOBS, request_id=False)
    assert retry.value.batch_id == created
    assert len(key_batches(db, config_id)) == 1


def test_lost_commit_reply_with_request_id_the_retry_returns_its_batch(db, via_proxy, config_id, step_id):
    via_proxy.drop_at(COMMIT_REPLY)
    batch_id = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=JOBS)
    assert (via_proxy.dropped, via_proxy.accepted) == (1, 2)               # one attempt lost, one retry
    [(created, request_id, jobs, events)] = key_batches(db, config_id)
    assert (created, jobs, events) == (batch_id, 3, f"CREATED:{request_id}")
    assert isinstance(request_id, uuid.UUID) and request_id.version == 4


def test_lost_commit_reply_of_ensure_batch_reports_created(db, via_proxy, config_id, step_id):
    via_proxy.drop_at(COMMIT_REPLY)
    ensured = irp.ensure_batch("EDM_CREATION", config_id, step_id, jobs=JOBS)
    assert via_proxy.dropped == 1 and ensured.created is True
    [(created, request_id, jobs, events)] = key_batches(db, config_id)
    assert (created, jobs, events) == (ensured.batch_id, 3, f"CREATED:{request_id}")
    # A new request for the key: the batch exists, created False, no jobs added.
    assert irp.ensure_batch("EDM_CREATION", config_id, step_id, jobs=JOBS) == (ensured.batch_id, False)
    assert key_batches(db, config_id)[0][2] == 3


def test_intentional_duplicate_with_a_lost_reply_is_made_once(db, via_proxy, config_id, step_id):
    first = irp.create_batch("EDM_CREATION", config_id, step_id)
    via_proxy.drop_at(COMMIT_REPLY)
    second = irp.create_batch("EDM_CREATION", config_id, step_id, allow_duplicate=True, jobs=JOBS)
    assert via_proxy.dropped == 1
    assert [(b[0], b[2]) for b in key_batches(db, config_id)] == [(first, 0), (second, 3)]


# Other losses: before the commit, and a backend terminated while it waits.

def test_lost_before_commit_the_retry_creates(db, via_proxy, config_id, step_id):
    """The result is lost before COMMIT: the server rolls back, the retry creates (or waits, then creates)."""
    via_proxy.drop_at(RESULT_OF("irp_create_batch"))
    batch_id = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=JOBS)
    assert via_proxy.dropped == 1
    [(created, request_id, jobs, _)] = key_batches(db, config_id)
    assert (created, jobs) == (batch_id, 3) and request_id is not None


def test_terminated_backend_is_retried(db, database, config_id, step_id):
    """pg_terminate_backend while the create waits for a lock: 57P01, reconnect, created once."""
    irp.configure(dbname=database, options=OPTIONS, backoff=0.05)
    outcome = {}

    def create():
        try:
            outcome["id"] = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=JOBS)
        except Exception as e:  # noqa: BLE001 - checked below
            outcome["error"] = e

    with db.transaction():
        db.execute("LOCK TABLE irp_batch IN SHARE MODE")      # the INSERT waits for this
        worker = threading.Thread(target=create)
        worker.start()
        deadline, victim = time.monotonic() + 30, None
        while victim is None and time.monotonic() < deadline:
            db.execute("SELECT pg_stat_clear_snapshot()")      # pg_stat_activity is read once per transaction
            victim = db.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                " AND query LIKE '%%irp_create_batch%%' AND pid <> pg_backend_pid()").fetchone()
            time.sleep(0.05)
        assert victim is not None, "the create never waited for the lock"
        assert db.execute("SELECT pg_terminate_backend(%s, 10000)", victim).fetchone()[0] is True
    worker.join(60)
    assert not worker.is_alive()
    assert "error" not in outcome, outcome
    assert [(b[0], b[2]) for b in key_batches(db, config_id)] == [(outcome["id"], 3)]


# Bounds, conn=, multi-host, and request_id's own rules.

def test_retries_are_bounded(via_proxy, config_id, step_id):
    irp.configure(via_proxy.conninfo(dbname="unused"), attempts=3, backoff=0.01)
    via_proxy.refuse(100)
    started = time.monotonic()
    with pytest.raises(irp.BatchError) as info:
        irp.create_batch("EDM_CREATION", config_id, step_id)
    assert (info.value.sqlstate, info.value.attempts, via_proxy.accepted) == (None, 3, 3)
    assert isinstance(info.value.request_id, uuid.UUID)
    assert time.monotonic() - started < 10


def test_other_errors_are_not_retried(via_proxy, config_id, step_id):
    irp.create_batch("EDM_CREATION", config_id, step_id)
    accepted = via_proxy.accepted
    with pytest.raises(irp.DuplicateBatchError) as info:
        irp.create_batch("EDM_CREATION", config_id, step_id)
    assert info.value.attempts == 1 and via_proxy.accepted == accepted + 1


def test_own_connection_is_not_retried_but_the_request_id_is_given_back(db, proxy, database, config_id, step_id):
    proxy.drop_at(COMMIT_REPLY)
    with psycopg.connect(proxy.conninfo(dbname=database, options=OPTIONS), autocommit=True) as conn:
        with pytest.raises(irp.BatchError) as info:
            irp.create_batch("EDM_CREATION", config_id, step_id, jobs=JOBS, conn=conn)
    e = info.value
    assert (e.sqlstate, e.attempts, proxy.accepted) == (None, 1, 1)
    [(created, request_id, _, _)] = key_batches(db, config_id)
    assert e.request_id == request_id
    # The caller retries with it, on a connection of its own: its batch, no error.
    with psycopg.connect(dbname=database, autocommit=True, options=OPTIONS) as conn:
        assert irp.create_batch("EDM_CREATION", config_id, step_id, jobs=JOBS, conn=conn,
                                request_id=str(e.request_id)) == created
    assert len(key_batches(db, config_id)) == 1


def test_multi_host_conninfo_skips_a_dead_host(db, database, config_id, step_id):
    irp.configure(f"host=127.0.0.1,{db.info.host} port={free_port()},{db.info.port}"
                  f" dbname={database} target_session_attrs=read-write", attempts=1)
    batch_id = irp.create_batch("EDM_CREATION", config_id, step_id)
    assert [b[0] for b in key_batches(db, config_id)] == [batch_id]


def test_request_id_retry_and_reuse(db, config_id, step_id):
    rid = uuid.uuid4()
    batch_id = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=JOBS, request_id=rid)
    assert irp.create_batch("EDM_CREATION", config_id, step_id, jobs=JOBS, request_id=rid) == batch_id
    with pytest.raises(irp.BatchError) as info:
        irp.create_batch("EDM_CREATION", config_id + 1, step_id, request_id=rid)
    assert info.value.sqlstate == "22023" and "was used by another request" in info.value.message
    assert info.value.attempts == 1 and info.value.request_id == rid
    with pytest.raises(ValueError):
        irp.create_batch("EDM_CREATION", config_id, step_id, request_id="not a uuid")
    with pytest.raises(TypeError):
        irp.create_batch("EDM_CREATION", config_id, step_id, request_id=7)


def test_each_call_has_its_own_request_id(db, config_id, step_id):
    a = irp.create_batch("EDM_CREATION", config_id, step_id)
    b = irp.create_batch("EDM_CREATION", config_id, step_id, allow_duplicate=True)
    ids = [r[1] for r in key_batches(db, config_id)]
    assert [r[0] for r in key_batches(db, config_id)] == [a, b] and None not in ids and ids[0] != ids[1]
