"""The module's own contract: errors, arguments, transactions, connections, schema."""
import threading

import psycopg
import pytest

import irp_batch_client as irp
from conftest import OPTIONS


def batches_of(db, config_id):
    return db.execute("SELECT id, batch_type, status::text, duplicate_of FROM irp_batch"
                      " WHERE configuration_id = %s ORDER BY id", (config_id,)).fetchall()


def job_data(db, batch_id):
    return [r[0] for r in db.execute("SELECT job_configuration_data FROM irp_job WHERE batch_id = %s ORDER BY id",
                                     (batch_id,))]


# Errors

def test_duplicate_error_carries_the_existing_batch(config_id, step_id):
    first = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"edm": "A"}, {"edm": "B"}])
    with pytest.raises(irp.DuplicateBatchError) as info:
        irp.create_batch("EDM_CREATION", config_id, step_id)
    e = info.value
    assert isinstance(e, irp.BatchError)
    assert (e.batch_id, e.status, e.configuration_id, e.batch_type) == (first, "INITIATED", config_id, "EDM_CREATION")
    assert e.sqlstate == "23505"
    assert e.message == (f"Active batch already exists for configuration {config_id} and batch_type "
                         f"'EDM_CREATION': Batch ID {first} (status: INITIATED)")
    assert e.detail.startswith(f"Batch {first} was created at ") and e.detail.endswith(" and has 2 jobs.")
    assert e.hint == (f"Use allow_duplicate=True to create an intentional duplicate, "
                      f"or cancel the existing batch with cancel_batch({first}).")
    assert (e.diag.table_name, e.diag.constraint_name) == ("irp_batch", "idx_batch_unique_active")
    assert "irp_cancel_batch" in e.diag.message_hint
    assert isinstance(e.__cause__, psycopg.errors.UniqueViolation)
    assert str(e).splitlines() == [e.message, f"DETAIL: {e.detail}", f"HINT: {e.hint}"]


def test_duplicate_error_reads_quotes_and_active_status(db, config_id, step_id):
    odd = "O'Brien': Batch ID 1 (status: ACTIVE)"
    first = irp.create_batch(odd, config_id, step_id)
    db.execute("UPDATE irp_batch SET status = 'ACTIVE' WHERE id = %s", (first,))
    with pytest.raises(irp.DuplicateBatchError) as info:
        irp.create_batch(odd, config_id, step_id)
    assert (info.value.batch_id, info.value.status, info.value.batch_type) == (first, "ACTIVE", odd)


def test_duplicate_error_without_the_guards_message(database, config_id, step_id):
    """PostgreSQL's bare unique violation (here: the trigger switched off) is still a DuplicateBatchError."""
    irp.create_batch("EDM_CREATION", config_id, step_id)
    # SET LOCAL in a transaction, not a startup option: pgbouncer (test/pgbouncer.sh) drops those.
    with psycopg.connect(dbname=database, autocommit=True, options=OPTIONS) as conn:
        with pytest.raises(irp.DuplicateBatchError) as info:
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                irp.create_batch("EDM_CREATION", config_id, step_id, conn=conn)
    e = info.value
    assert e.message == 'duplicate key value violates unique constraint "idx_batch_unique_active"'
    assert (e.batch_id, e.status, e.configuration_id, e.batch_type) == (None, None, config_id, "EDM_CREATION")
    assert "get_active_batches_for_config" in e.hint


@pytest.mark.parametrize("args, sqlstate", [
    pytest.param((" EDM_CREATION", 1, 1), "22023", id="batch_type with a leading space"),
    pytest.param(("EDM_CREATION", 0, 1), "22023", id="configuration_id 0"),
    pytest.param(("EDM_CREATION", 1, -3), "22023", id="negative step_id"),
    pytest.param((None, 1, 1), "22004", id="batch_type None"),
    pytest.param(("EDM_CREATION", None, 1), "22004", id="configuration_id None"),
    pytest.param(("EDM_CREATION", 2**40, 1), "22003", id="configuration_id beyond integer"),
    pytest.param(("x" * 256, 1, 1), "22023", id="batch_type of 256 characters"),
])
def test_bad_values_are_batch_errors_with_the_servers_sqlstate(db, args, sqlstate):
    before = db.execute("SELECT count(*) FROM irp_batch").fetchone()[0]
    with pytest.raises(irp.BatchError) as info:
        irp.create_batch(*args)
    assert type(info.value) is irp.BatchError
    assert info.value.sqlstate == sqlstate
    assert db.execute("SELECT count(*) FROM irp_batch").fetchone()[0] == before


@pytest.mark.parametrize("call", [
    pytest.param(lambda: irp.create_batch("EDM_CREATION", 1.0, 1), id="float id"),
    pytest.param(lambda: irp.create_batch("EDM_CREATION", "1", 1), id="str id"),
    pytest.param(lambda: irp.create_batch("EDM_CREATION", True, 1), id="bool id"),
    pytest.param(lambda: irp.create_batch(b"EDM_CREATION", 1, 1), id="bytes batch_type"),
    pytest.param(lambda: irp.create_batch("EDM_CREATION", 1, 1, allow_duplicate="yes"), id="str allow_duplicate"),
    pytest.param(lambda: irp.create_batch("EDM_CREATION", 1, 1, jobs='[{"a": 1}]'), id="jobs as a JSON string"),
    pytest.param(lambda: irp.cancel_batch(1.5), id="cancel_batch float id"),
    pytest.param(lambda: irp.get_active_batches_for_config(1, batch_type=["EDM_CREATION"]), id="list batch_type"),
    pytest.param(lambda: irp.preflight(1, "EDM_CREATION"), id="preflight with one str"),
    pytest.param(lambda: irp.preflight(1, None), id="preflight with None"),
    pytest.param(lambda: irp.preflight(1, ["EDM_CREATION", 7]), id="preflight with an int type"),
    pytest.param(lambda: irp.ensure_batch("EDM_CREATION", 1, 2.0), id="ensure_batch float step_id"),
])
def test_wrong_python_types_are_type_errors(db, call):
    before = db.execute("SELECT count(*) FROM irp_batch").fetchone()[0]
    with pytest.raises(TypeError):
        call()
    assert db.execute("SELECT count(*) FROM irp_batch").fetchone()[0] == before


# create_batch

def test_jobs_are_created_in_order_all_or_nothing(db, config_id, step_id):
    jobs = [{"portfolio": f"P{i}", "n": i} for i in range(1, 6)]
    batch_id = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id, jobs=iter(jobs))
    assert job_data(db, batch_id) == jobs
    with pytest.raises(irp.BatchError) as info:
        irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"edm": "A"}, "not an object"])
    assert info.value.sqlstate == "22023"
    with pytest.raises(irp.BatchError) as info:
        irp.create_batch("EDM_CREATION", config_id, step_id, jobs={"edm": "A"})
    assert info.value.sqlstate == "22023"
    assert [b[1] for b in batches_of(db, config_id)] == ["PORTFOLIO_CREATION"]


def test_intentional_duplicate_names_the_original(db, config_id, step_id):
    first = irp.create_batch("EDM_CREATION", config_id, step_id)
    second = irp.create_batch("EDM_CREATION", config_id, step_id, allow_duplicate=True)
    third = irp.create_batch("EDM_CREATION", config_id, step_id, allow_duplicate=True)
    assert batches_of(db, config_id) == [(first, "EDM_CREATION", "INITIATED", None),
                                         (second, "EDM_CREATION", "INITIATED", first),
                                         (third, "EDM_CREATION", "INITIATED", first)]
    # allow_duplicate without an active batch creates an ordinary one.
    other = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id, allow_duplicate=True)
    assert batches_of(db, config_id)[-1] == (other, "PORTFOLIO_CREATION", "INITIATED", None)


def test_concurrent_creates_one_wins_the_others_get_duplicate_errors(config_id, step_id):
    threads, barrier = 6, threading.Barrier(6)
    results = [None] * threads

    def run(i):
        barrier.wait()
        try:
            results[i] = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"edm": "A"}])
        except Exception as e:  # noqa: BLE001 - recorded and checked below
            results[i] = e

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if not isinstance(r, int)]
    assert len(winners) == 1 and len(losers) == threads - 1, results
    assert all(isinstance(r, irp.DuplicateBatchError) for r in losers), results
    assert {r.batch_id for r in losers} <= {winners[0], None}      # None: PostgreSQL's bare message
    assert [b["id"] for b in irp.get_active_batches_for_config(config_id)] == winners


# cancel_batch

def test_cancel_batch_cancels_jobs_records_the_reason_and_is_false_the_second_time(db, config_id, step_id):
    batch_id = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"edm": "A"}, {"edm": "B"}, {"edm": "C"}])
    db.execute("UPDATE irp_job SET status = 'SUBMITTED' WHERE id = (SELECT min(id) FROM irp_job WHERE batch_id = %s)",
               (batch_id,))
    assert irp.cancel_batch(batch_id, reason="Re-ran Step 03 by mistake") is True
    assert irp.cancel_batch(batch_id) is False
    assert db.execute("SELECT status::text, cancel_reason FROM irp_batch WHERE id = %s", (batch_id,)).fetchone() == \
        ("CANCELLED", "Re-ran Step 03 by mistake")
    assert {r[0] for r in db.execute("SELECT status::text FROM irp_job WHERE batch_id = %s", (batch_id,))} == \
        {"CANCELLED"}
    reason, details = db.execute("SELECT reason, details FROM irp_batch_event WHERE batch_id = %s AND event = 'CANCELLED'",
                                 (batch_id,)).fetchone()
    submitted = db.execute("SELECT min(id) FROM irp_job WHERE batch_id = %s", (batch_id,)).fetchone()[0]
    assert reason == "Re-ran Step 03 by mistake"
    assert details["jobs_cancelled"] == 3 and details["submitted_job_ids"] == [submitted]


def test_cancel_batch_errors(config_id, step_id):
    with pytest.raises(irp.BatchNotFoundError) as info:
        irp.cancel_batch(999999999)
    assert (info.value.batch_id, info.value.sqlstate, info.value.message) == \
        (999999999, "P0002", "Batch 999999999 not found")
    batch_id = irp.create_batch("EDM_CREATION", config_id, step_id)
    for reason, sqlstate in (("   ", "22023"), (None, "22004")):
        with pytest.raises(irp.BatchError) as info:
            irp.cancel_batch(batch_id, reason=reason)
        assert info.value.sqlstate == sqlstate
    assert irp.get_active_batches_for_config(config_id)[0]["id"] == batch_id


# get_active_batches_for_config

def test_active_batches_newest_first_with_job_counts(db, config_id, step_id):
    a = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"edm": "A"}] * 3)
    b = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id, jobs=[{"p": 1}] * 5)
    c = irp.create_batch("EDM_CREATION", config_id, step_id, allow_duplicate=True)
    d = irp.create_batch("ANALYSIS", config_id, step_id)
    irp.cancel_batch(d)
    irp.create_batch("EDM_CREATION", config_id + 100000, step_id)
    rows = irp.get_active_batches_for_config(config_id)
    assert [(r["id"], r["batch_type"], r["status"], r["job_count"], r["duplicate_of"]) for r in rows] == [
        (c, "EDM_CREATION", "INITIATED", 0, a),
        (b, "PORTFOLIO_CREATION", "INITIATED", 5, None),
        (a, "EDM_CREATION", "INITIATED", 3, None)]
    assert rows[0]["created_ts"].tzinfo is not None
    assert [r["id"] for r in irp.get_active_batches_for_config(config_id, "EDM_CREATION")] == [c, a]


# Transactions

def test_own_autocommit_connection_commits_each_call_and_stays_open(db, database, config_id, step_id):
    with psycopg.connect(dbname=database, autocommit=True, options=OPTIONS) as conn:
        batch_id = irp.create_batch("EDM_CREATION", config_id, step_id, conn=conn)
        assert [b[0] for b in batches_of(db, config_id)] == [batch_id]     # visible elsewhere at once
        with pytest.raises(irp.DuplicateBatchError):
            irp.create_batch("EDM_CREATION", config_id, step_id, conn=conn)
        assert not conn.closed
        assert conn.execute("SELECT 1").fetchone() == (1,)                # still usable


def test_own_idle_connection_commits_when_the_call_returns(db, database, config_id, step_id):
    with psycopg.connect(dbname=database, options=OPTIONS) as conn:        # not autocommit
        batch_id = irp.create_batch("EDM_CREATION", config_id, step_id, conn=conn)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert [b[0] for b in batches_of(db, config_id)] == [batch_id]


def test_inside_your_transaction_a_call_is_a_savepoint(db, database, config_id, step_id):
    with psycopg.connect(dbname=database, autocommit=True, options=OPTIONS) as conn:
        with conn.transaction() as tx:
            first = irp.create_batch("EDM_CREATION", config_id, step_id, conn=conn)
            assert batches_of(db, config_id) == []                          # not committed yet
            with pytest.raises(irp.DuplicateBatchError) as info:
                irp.create_batch("EDM_CREATION", config_id, step_id, conn=conn)
            assert info.value.batch_id == first
            # The error undid only the call: the transaction goes on.
            second = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id, conn=conn)
        assert [b[0] for b in batches_of(db, config_id)] == [first, second]

        with conn.transaction() as tx:
            third = irp.create_batch("ANALYSIS", config_id, step_id, conn=conn)
            assert third
            raise psycopg.Rollback(tx)
        assert [b[0] for b in batches_of(db, config_id)] == [first, second]


def test_default_connection_is_closed_after_each_call(database, config_id, step_id):
    opened = []

    def factory():
        conn = psycopg.connect(dbname=database, options=OPTIONS)
        opened.append(conn)
        return conn

    irp.configure(factory=factory)
    batch_id = irp.create_batch("EDM_CREATION", config_id, step_id)
    with pytest.raises(irp.DuplicateBatchError):
        irp.create_batch("EDM_CREATION", config_id, step_id)
    assert irp.get_active_batches_for_config(config_id)[0]["id"] == batch_id
    assert len(opened) == 3 and all(c.closed for c in opened)


def test_configure(database, config_id, step_id):
    irp.configure(f"dbname={database} options='{OPTIONS}'")
    assert irp.get_active_batches_for_config(config_id) == []
    with pytest.raises(TypeError):
        irp.configure(factory=lambda: None, dbname=database)


def test_connection_failure_is_a_batch_error_without_sqlstate():
    irp.configure("host=/nonexistent/socket/dir connect_timeout=5")
    with pytest.raises(irp.BatchError) as info:
        irp.get_active_batches_for_config(1)
    assert info.value.sqlstate is None
    assert isinstance(info.value.__cause__, psycopg.OperationalError)
    assert info.value.message


# Schema

@pytest.fixture(scope="module")
def other_databases(database):
    """One database with the extension in schema irp, one without the extension."""
    with_schema, without = f"{database}_irp", f"{database}_none"
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        for name in (with_schema, without):
            admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(dbname=with_schema, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA irp")
        conn.execute("CREATE EXTENSION irp_batch SCHEMA irp")
    yield with_schema, without
    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        for name in (with_schema, without):
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_the_extensions_schema_is_found(other_databases):
    irp.configure(dbname=other_databases[0], options=OPTIONS)   # search_path does not include irp
    batch_id = irp.create_batch("EDM_CREATION", 7, 3)
    assert irp.get_active_batches_for_config(7)[0]["id"] == batch_id
    with pytest.raises(irp.DuplicateBatchError) as info:
        irp.create_batch("EDM_CREATION", 7, 3)
    assert info.value.diag.schema_name == "irp"
    assert irp.cancel_batch(batch_id) is True
    with pytest.raises(irp.BatchError) as info:
        irp.get_active_batches_for_config(7, schema="public")
    assert info.value.sqlstate == "42883"                        # no such function


def test_configured_schema(other_databases):
    irp.configure(dbname=other_databases[0], schema="irp", options=OPTIONS)
    assert irp.get_active_batches_for_config(8) == []


def test_no_extension_is_a_batch_error(other_databases):
    irp.configure(dbname=other_databases[1], options=OPTIONS)
    with pytest.raises(irp.BatchError) as info:
        irp.create_batch("EDM_CREATION", 7, 3)
    assert "extension is not installed" in info.value.message
