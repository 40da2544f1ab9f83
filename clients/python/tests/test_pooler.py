"""Through a pooler in transaction mode (test/pgbouncer.sh sets IRP_TEST_POOLER=pgbouncer).

A prepared statement lives on one server connection, and pgbouncer before
1.21 hands a client a different server connection per transaction (or the
same one to another client). So the module never prepares: every statement
is sent with prepare=False, even on a connection of yours whose
prepare_threshold says otherwise. Without a pooler these tests check the
same calls work directly.
"""
import os

import psycopg
import pytest

import irp_batch_client as irp
from conftest import OPTIONS

POOLER = os.environ.get("IRP_TEST_POOLER")


def connections(database, n):
    """n autocommit connections that would prepare every statement at once."""
    return [psycopg.connect(dbname=database, autocommit=True, options=OPTIONS, prepare_threshold=0)
            for _ in range(n)]


def test_calls_on_connections_that_prepare_do_not_prepare(database, config_id, step_id):
    conns = connections(database, 3)
    try:
        ids = {}
        # The same statements, interleaved over the clients, and no error in
        # between (a ROLLBACK makes psycopg send DEALLOCATE ALL, which would
        # hide the clash).
        for round_ in range(4):
            for i, conn in enumerate(conns):
                key = config_id * 100 + round_ * 3 + i
                ids[key] = irp.create_batch("EDM_CREATION", key, step_id, jobs=[{"r": round_}], conn=conn)
            for i, conn in enumerate(conns):
                key = config_id * 100 + round_ * 3 + i
                assert irp.ensure_batch("EDM_CREATION", key, step_id, conn=conn) == (ids[key], False)
                assert [r["id"] for r in irp.get_active_batches_for_config(key, conn=conn)] == [ids[key]]
                assert irp.preflight(key, ["EDM_CREATION"], conn=conn)[0]["batch_id"] == ids[key]
        assert len(set(ids.values())) == 12
        for conn in conns:
            assert not conn._prepared._names     # psycopg prepared nothing (its own bookkeeping)
        for key, conn in zip(ids, conns * 4):
            with pytest.raises(irp.DuplicateBatchError) as info:
                irp.create_batch("EDM_CREATION", key, step_id, conn=conn)
            assert info.value.batch_id == ids[key]
    finally:
        for conn in conns:
            conn.close()


def test_prepared_statements_break_behind_the_pooler(database):
    """The failure the module avoids: psycopg preparing through pgbouncer 1.18 in transaction mode."""
    conns = connections(database, 3)
    errors = []
    try:
        for round_ in range(8):
            for conn in conns:
                try:
                    conn.execute("SELECT %s::integer + 1", (round_,), prepare=True).fetchone()
                except psycopg.Error as e:
                    errors.append(e.sqlstate)
    finally:
        for conn in conns:
            conn.close()
    if POOLER:
        assert errors and set(errors) <= {"26000", "42P05", "08P01", "22P02"}, errors
    else:
        assert errors == []
