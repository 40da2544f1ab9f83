#!/usr/bin/env python3
"""Checks that every error irp_batch raises names where it was decided: the
LOCATION of the error (libpq's PG_DIAG_SOURCE_FILE, _LINE and _FUNCTION,
psycopg's diag.source_file, source_line and source_function) is the file,
line and function of the extension's code that decided it, not the boundary
(pg_guard.cpp) that raised it; and a PostgreSQL error that travels through
the extension keeps PostgreSQL's own location.

Lines are not compared (they move with every edit); they must be positive.
Connects through libpq's environment (PGHOST, PGPORT, PGUSER); prints TAP."""
import sys

import psycopg

from invariants import report

DATABASE = "irp_batch_error_origin"
results = []


def check(ok, description, got=None):
    results.append((bool(ok), description, got))


def origin_of(conn, sql):
    """The error sql raises, as (sqlstate, source_file, source_function, source_line)."""
    try:
        with conn.transaction():
            conn.execute(sql)
    except psycopg.Error as e:
        d = e.diag
        return d.sqlstate, d.source_file, d.source_function, int(d.source_line or 0)
    return None


def expect(conn, description, sql, sqlstate, source_file, source_function):
    got = origin_of(conn, sql)
    check(got is not None and got[0] == sqlstate and got[1] == source_file and got[2] == source_function
          and got[3] > 0,
          f"{description}: {sqlstate} decided in {source_function}(), {source_file}", got)


def main():
    with psycopg.connect("dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
        admin.execute("DROP ROLE IF EXISTS irp_origin_writer")
        admin.execute("CREATE ROLE irp_origin_writer")
    try:
        with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION irp_batch")
            conn.execute("SELECT irp_create_batch('EDM', 42, 3)")

            # The guard: rule 1 is decided where the key's active batch is found.
            expect(conn, "a duplicate batch", "SELECT irp_create_batch('EDM', 42, 3)",
                   "23505", "batch_guard.cpp", "check_conflict")
            expect(conn, "a duplicate by INSERT",
                   "INSERT INTO irp_batch (step_id, configuration_id, batch_type) VALUES (3, 42, 'EDM')",
                   "23505", "batch_guard.cpp", "check_conflict")
            # The pure rules decide without a lookup.
            expect(conn, "a new id", "UPDATE irp_batch SET id = id + 100",
                   "0A000", "guard_rules.cpp", "decide_update")
            expect(conn, "a batch that duplicates itself",
                   "INSERT INTO irp_batch (id, step_id, configuration_id, batch_type, duplicate_of) "
                   "VALUES (500, 3, 42, 'EDM', 500)",
                   "23514", "guard_rules.cpp", "decide_insert")
            # Rule 2, decided where the named batch is looked up.
            expect(conn, "duplicate_of naming no batch",
                   "INSERT INTO irp_batch (step_id, configuration_id, batch_type, duplicate_of) "
                   "VALUES (3, 42, 'EDM', 999999)",
                   "23503", "batch_guard.cpp", "check_duplicate_target")

            # Arguments.
            expect(conn, "an empty batch_type", "SELECT irp_create_batch('', 42, 3)",
                   "22023", "arg_rules.cpp", "validate_batch_type")
            expect(conn, "a NULL configuration_id", "SELECT irp_create_batch('EDM', NULL, 3)",
                   "22004", "arg_rules.cpp", "require_not_null")
            expect(conn, "jobs that are not an array",
                   "SELECT irp_create_batch('OTHER', 42, 3, jobs => '{}'::jsonb)",
                   "22023", "new_batch.cpp", "jobs_arg")
            expect(conn, "a blank reason", "SELECT irp_cancel_batch(1, ' ')",
                   "22023", "arg_rules.cpp", "validate_reason")

            # The SQL API's own decisions.
            expect(conn, "an unknown batch", "SELECT irp_cancel_batch(999999)",
                   "P0002", "cancel_batch.cpp", "cancel_batch")

            # The audit table's guard.
            conn.execute("GRANT INSERT ON irp_batch_event TO irp_origin_writer")
            expect(conn, "a forged audit event",
                   "SET LOCAL ROLE irp_origin_writer; "
                   "INSERT INTO irp_batch_event (batch_id, event) VALUES (1, 'CREATED')",
                   "42501", "audit_table_guard.cpp", "guard_events")

            # A PostgreSQL error raised inside the extension's call (here by
            # a user's trigger on irp_job) reaches the client unchanged,
            # location included.
            conn.execute("""
                CREATE FUNCTION refuse_job() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN RAISE EXCEPTION 'no jobs today' USING ERRCODE = 'P0001'; END $$""")
            conn.execute("CREATE TRIGGER refuse_job BEFORE INSERT ON irp_job FOR EACH ROW EXECUTE FUNCTION refuse_job()")
            got = origin_of(conn, "SELECT irp_create_batch('JOBS', 42, 3, jobs => '[{\"p\": 1}]'::jsonb)")
            check(got is not None and got[0] == "P0001" and got[1] == "pl_exec.c",
                  "a PL/pgSQL error inside irp_create_batch keeps its own location (pl_exec.c)", got)

            # No error of the extension reports the boundary.
            boundary = [r for r in results if r[2] and len(r[2]) > 1 and r[2][1] == "pg_guard.cpp"]
            check(not boundary, "no error reports pg_guard.cpp as its location", boundary)
    finally:
        with psycopg.connect("dbname=postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
            admin.execute("DROP ROLE IF EXISTS irp_origin_writer")

    return report(results)


if __name__ == "__main__":
    sys.exit(main())
