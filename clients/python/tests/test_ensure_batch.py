"""ensure_batch(): the client of irp_ensure_batch(batch_type, configuration_id, step_id, jobs).

The contract (issue 7, item 2): returns the active batch the duplicate error
would name (created false, no jobs added), or creates the batch with its jobs
(created true). Concurrent calls for one key all return the same id, exactly
one with created true, and none fails.
"""
import threading

import psycopg
import pytest

import irp_batch_client as irp
from conftest import OPTIONS

JOBS = [{"edm": "EDM_A"}, {"edm": "EDM_B"}, {"edm": "EDM_C"}]


def state(db, config_id):
    """Every batch of the configuration with its jobs, and the number of audit events."""
    batches = db.execute(
        "SELECT b.id, b.batch_type, b.status::text, b.duplicate_of,"
        " coalesce((SELECT jsonb_agg(j.job_configuration_data ORDER BY j.id) FROM irp_job j WHERE j.batch_id = b.id),"
        " '[]') FROM irp_batch b WHERE b.configuration_id = %s ORDER BY b.id", (config_id,)).fetchall()
    events = db.execute("SELECT count(*) FROM irp_batch_event e JOIN irp_batch b ON b.id = e.batch_id"
                        " WHERE b.configuration_id = %s", (config_id,)).fetchone()[0]
    return batches, events


def test_creates_then_returns_the_same_batch_without_adding_jobs(db, config_id, step_id):
    first = irp.ensure_batch("EDM_CREATION", config_id, step_id, jobs=JOBS)
    assert isinstance(first, irp.EnsuredBatch) and first.created is True
    after_first = state(db, config_id)
    assert after_first[0] == [(first.batch_id, "EDM_CREATION", "INITIATED", None, JOBS)]

    again = irp.ensure_batch("EDM_CREATION", config_id, step_id, jobs=JOBS + [{"edm": "EDM_D"}])
    assert again == (first.batch_id, False)
    assert state(db, config_id) == after_first          # no batch, job or event added

    batch_id, created = irp.ensure_batch("EDM_CREATION", config_id, step_id)
    assert (batch_id, created) == (first.batch_id, False)


def test_without_jobs(db, config_id, step_id):
    batch_id, created = irp.ensure_batch("PORTFOLIO_CREATION", config_id, step_id)
    assert created
    assert state(db, config_id)[0] == [(batch_id, "PORTFOLIO_CREATION", "INITIATED", None, [])]


def test_returns_the_batch_the_duplicate_error_would_name(db, config_id, step_id):
    original = irp.create_batch("EDM_CREATION", config_id, step_id)
    duplicate = irp.create_batch("EDM_CREATION", config_id, step_id, allow_duplicate=True)
    assert irp.ensure_batch("EDM_CREATION", config_id, step_id) == (original, False)

    # With the original cancelled, the intentional duplicate is the active batch.
    irp.cancel_batch(original)
    with pytest.raises(irp.DuplicateBatchError) as info:
        irp.create_batch("EDM_CREATION", config_id, step_id)
    assert info.value.batch_id == duplicate
    assert irp.ensure_batch("EDM_CREATION", config_id, step_id) == (duplicate, False)


def test_an_active_status_batch_is_returned(db, config_id, step_id):
    batch_id = irp.create_batch("EDM_CREATION", config_id, step_id)
    db.execute("UPDATE irp_batch SET status = 'ACTIVE' WHERE id = %s", (batch_id,))
    assert irp.ensure_batch("EDM_CREATION", config_id, step_id, jobs=JOBS) == (batch_id, False)


def test_finished_batches_do_not_count(db, config_id, step_id):
    old = irp.create_batch("EDM_CREATION", config_id, step_id)
    irp.cancel_batch(old, reason="superseded")
    new, created = irp.ensure_batch("EDM_CREATION", config_id, step_id, jobs=JOBS)
    assert created and new != old
    assert state(db, config_id)[0][-1] == (new, "EDM_CREATION", "INITIATED", None, JOBS)


def test_other_keys_are_independent(config_id, step_id):
    a = irp.ensure_batch("EDM_CREATION", config_id, step_id)
    b = irp.ensure_batch("PORTFOLIO_CREATION", config_id, step_id)
    c = irp.ensure_batch("EDM_CREATION", config_id + 100000, step_id)
    assert a.created and b.created and c.created
    assert len({a.batch_id, b.batch_id, c.batch_id}) == 3


@pytest.mark.parametrize("args, sqlstate", [
    pytest.param((" EDM_CREATION", 1, 1), "22023", id="batch_type with a leading space"),
    pytest.param(("EDM_CREATION", 0, 1), "22023", id="configuration_id 0"),
    pytest.param(("EDM_CREATION", 1, 0), "22023", id="step_id 0"),
    pytest.param((None, 1, 1), "22004", id="batch_type None"),
    pytest.param(("EDM_CREATION", None, 1), "22004", id="configuration_id None"),
    pytest.param(("EDM_CREATION", 1, None), "22004", id="step_id None"),
    pytest.param(("x" * 256, 1, 1), "22023", id="batch_type of 256 characters"),
])
def test_input_rules(db, args, sqlstate):
    before = db.execute("SELECT count(*) FROM irp_batch").fetchone()[0]
    with pytest.raises(irp.BatchError) as info:
        irp.ensure_batch(*args)
    assert info.value.sqlstate == sqlstate
    assert db.execute("SELECT count(*) FROM irp_batch").fetchone()[0] == before


@pytest.mark.parametrize("jobs", [
    pytest.param([{"edm": "A"}, 3], id="a number among the jobs"),
    pytest.param({"edm": "A"}, id="an object, not an array"),
    pytest.param([[1]], id="an array as a job"),
])
def test_bad_jobs_write_nothing(db, config_id, step_id, jobs):
    with pytest.raises(irp.BatchError) as info:
        irp.ensure_batch("EDM_CREATION", config_id, step_id, jobs=jobs)
    assert info.value.sqlstate == "22023"
    assert state(db, config_id) == ([], 0)


def test_inside_your_transaction(db, database, config_id, step_id):
    with psycopg.connect(dbname=database, autocommit=True, options=OPTIONS) as conn:
        with conn.transaction() as tx:
            first = irp.ensure_batch("EDM_CREATION", config_id, step_id, conn=conn)
            assert irp.ensure_batch("EDM_CREATION", config_id, step_id, conn=conn) == (first.batch_id, False)
            raise psycopg.Rollback(tx)
    assert state(db, config_id) == ([], 0)


@pytest.mark.parametrize("round_", [pytest.param(i, id=f"round {i + 1}") for i in range(5)])
def test_concurrent_calls_for_one_key(db, config_id, step_id, round_):
    threads = 8
    barrier = threading.Barrier(threads)
    results = [None] * threads

    def run(i):
        barrier.wait()
        try:
            results[i] = irp.ensure_batch("EDM_CREATION", config_id, step_id, jobs=JOBS)
        except Exception as e:  # noqa: BLE001 - recorded and checked below
            results[i] = e

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert all(isinstance(r, irp.EnsuredBatch) for r in results), results
    assert len({r.batch_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    batches, _ = state(db, config_id)
    assert batches == [(results[0].batch_id, "EDM_CREATION", "INITIATED", None, JOBS)]
