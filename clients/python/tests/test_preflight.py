"""preflight(): the client of irp_batch_preflight(configuration_id, batch_types).

The contract (issue 7, item 1): for each requested type in the order given,
one row per active batch, oldest first, or one row with NULL batch_id if it
has none; the same input rules as the other functions.
"""

import re
import time

import psycopg
import pytest

import irp_batch_client as irp
from conftest import OPTIONS

KEYS = ["batch_type", "batch_id", "status", "created_ts", "created_by", "job_count", "duplicate_of",
        "last_change", "stale", "message"]

def current_user(db):
    return db.execute("SELECT current_user").fetchone()[0]

def test_nothing_yet_one_row_per_type_in_the_order_given(config_id):
    rows = irp.preflight(config_id, ["PORTFOLIO_CREATION", "EDM_CREATION", "ANALYSIS"])
    assert [list(r) for r in rows] == [KEYS] * 3
    assert [(r["batch_type"], r["batch_id"]) for r in rows] == [
        ("PORTFOLIO_CREATION", None), ("EDM_CREATION", None), ("ANALYSIS", None)]

def test_existing_batches_oldest_first_with_what_the_warning_shows(db, config_id, step_id):
    edm = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"edm": e} for e in "ABC"])
    portfolio = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id, jobs=[{"p": p} for p in range(5)])
    edm_again = irp.create_batch("EDM_CREATION", config_id, step_id, allow_duplicate=True, jobs=[{"edm": "A"}])
    db.execute("UPDATE irp_batch SET status = 'ACTIVE' WHERE id = %s", (portfolio,))
    rows = irp.preflight(config_id, ["EDM_CREATION", "PORTFOLIO_CREATION", "ANALYSIS"])
    user = current_user(db)
    got = [(r["batch_type"], r["batch_id"], r["status"], r["created_by"], r["job_count"], r["duplicate_of"])
           for r in rows]
    assert got == [("EDM_CREATION", edm, "INITIATED", user, 3, None),
                   ("EDM_CREATION", edm_again, "INITIATED", user, 1, edm),
                   ("PORTFOLIO_CREATION", portfolio, "ACTIVE", user, 5, None),
                   ("ANALYSIS", None, None, None, rows[3]["job_count"], None)]
    created = {r[0]: r[1] for r in db.execute("SELECT id, created_ts FROM irp_batch WHERE configuration_id = %s",
                                              (config_id,))}
    assert [r["created_ts"] for r in rows[:3]] == [created[edm], created[edm_again], created[portfolio]]
    assert rows[3]["job_count"] in (None, 0)

def test_finished_batches_and_other_configurations_do_not_count(db, config_id, step_id):
    cancelled = irp.create_batch("EDM_CREATION", config_id, step_id)
    irp.cancel_batch(cancelled)
    completed = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id)
    db.execute("UPDATE irp_batch SET status = 'COMPLETED' WHERE id = %s", (completed,))
    irp.create_batch("EDM_CREATION", config_id + 100000, step_id)
    rows = irp.preflight(config_id, ["EDM_CREATION", "PORTFOLIO_CREATION"])
    assert [(r["batch_type"], r["batch_id"]) for r in rows] == [("EDM_CREATION", None), ("PORTFOLIO_CREATION", None)]

def test_the_notebooks_second_run(config_id, step_id):
    """The pre-flight tells a re-run exactly which batches it would duplicate."""
    types = ["EDM_CREATION", "PORTFOLIO_CREATION"]
    ids = [irp.create_batch(t, config_id, step_id) for t in types]
    existing = [r for r in irp.preflight(config_id, types) if r["batch_id"] is not None]
    assert [r["batch_id"] for r in existing] == ids
    for t, batch_id in zip(types, ids):
        with pytest.raises(irp.DuplicateBatchError) as info:
            irp.create_batch(t, config_id, step_id)
        assert info.value.batch_id == batch_id

@pytest.mark.parametrize("configuration_id, batch_types, sqlstate", [
    pytest.param(0, ["EDM_CREATION"], "22023", id="configuration_id 0"),
    pytest.param(-1, ["EDM_CREATION"], "22023", id="negative configuration_id"),
    pytest.param(None, ["EDM_CREATION"], "22004", id="configuration_id None"),
    pytest.param(1, [" EDM_CREATION"], "22023", id="batch type with a leading space"),
    pytest.param(1, ["EDM\nCREATION"], "22023", id="batch type with a newline"),
    pytest.param(1, ["x" * 256], "22023", id="batch type of 256 characters"),
    pytest.param(1, [""], "22023", id="empty batch type"),
    pytest.param(2**40, ["EDM_CREATION"], "22003", id="configuration_id beyond integer"),
])
def test_input_rules(configuration_id, batch_types, sqlstate):
    with pytest.raises(irp.BatchError) as info:
        irp.preflight(configuration_id, batch_types)
    assert info.value.sqlstate == sqlstate

def test_null_array_is_refused_by_the_server(db):
    with pytest.raises(Exception) as info:
        db.execute("SELECT * FROM irp_batch_preflight(1, NULL)")
    assert getattr(info.value, "sqlstate", None) == "22004"

def test_runs_in_the_extensions_schema_whatever_the_search_path(db, database, config_id, step_id):
    batch_id = irp.create_batch("EDM_CREATION", config_id, step_id)
    irp.configure(dbname=database, options="-c search_path=pg_catalog")
    assert [r["batch_id"] for r in irp.preflight(config_id, ["EDM_CREATION"])] == [batch_id]

def test_last_activity_and_stale_batches(database, config_id, step_id):
    """Server 2.1: each active batch's last change, and a stale one's message says how to cancel it."""
    batch_id = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"edm": "A"}])
    [row] = irp.preflight(config_id, ["EDM_CREATION"])
    assert (row["batch_id"], row["stale"]) == (batch_id, False)
    assert row["last_change"] is not None
    assert row["message"].startswith(f"batch {batch_id} exists (INITIATED, last activity ")
    time.sleep(1.2)
    with psycopg.connect(dbname=database, autocommit=True, options=OPTIONS) as c:
        with c.transaction():
            c.execute("SET LOCAL irp_batch.stale_after = 1")     # seconds; SET LOCAL: pooler-safe
            [row] = irp.preflight(config_id, ["EDM_CREATION"], conn=c)
    assert row["stale"] is True
    assert re.match(rf"batch {batch_id} has had no activity for \d+ seconds?; "
                    rf"cancel it with SELECT irp_cancel_batch\({batch_id}, ", row["message"]), row["message"]
    [none] = irp.preflight(config_id, ["PORTFOLIO_CREATION"])
    assert (none["batch_id"], none["last_change"], none["stale"], none["message"]) == (None, None, None, None)
