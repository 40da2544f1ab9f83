#!/usr/bin/env python3
"""Stress check of the duplicate guard under concurrency.

Several clients, each its own process and connection (autocommit, READ
COMMITTED), run a random mix for a few seconds on a handful of keys:
irp_create_batch with and without allow_duplicate (with 0-3 jobs), plain
INSERTs, irp_cancel_batch, batch status updates (INITIATED -> ACTIVE ->
COMPLETED, and reactivation of cancelled batches) and job status updates.
Then it checks the invariants and prints TAP:

  - no key has two active batches without duplicate_of;
  - every duplicate_of names a batch of the same key;
  - every batch a client was told it created exists with exactly the jobs it
    was created with, and no other batch exists;
  - every batch has exactly one creation event in the audit trail;
  - the only error any client saw is the descriptive duplicate error.

Connects through libpq's environment (PGHOST, PGPORT, PGUSER) and works in
its own database. Usage: stress.py [--seconds N] [--clients N] [--keys N]
"""
import argparse
import json
import random
import subprocess
import sys
import time
from collections import Counter

import psycopg
from psycopg.types.json import Jsonb

from invariants import key_invariants, report

DATABASE = "irp_batch_stress"
TYPES = ["EDM_CREATION", "PORTFOLIO_CREATION", "ANALYSIS"]
DUPLICATE_MESSAGE = "Active batch already exists for configuration "


def keys_for(n):
    """The first n keys (configuration_id, batch_type)."""
    return [(1 + i // len(TYPES), TYPES[i % len(TYPES)]) for i in range(n)]


def pick(conn, sql):
    """One random id from sql's rows, or None."""
    row = conn.execute(sql + " ORDER BY random() LIMIT 1").fetchone()
    return row[0] if row else None


def worker(number, seconds, keys):
    """One client: random operations until the time is up; returns what it did."""
    rng = random.Random(number)
    created = []  # (batch id, jobs as sent)
    ops = Counter()
    errors = Counter()
    unexpected = []
    sequence = 0
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            configuration_id, batch_type = rng.choice(keys)
            op = rng.choices(
                ["create", "create_dup", "insert", "cancel", "activate", "complete", "reactivate", "toggle", "job"],
                weights=[30, 12, 8, 15, 8, 5, 7, 10, 15])[0]
            ops[op] += 1
            try:
                if op in ("create", "create_dup"):
                    jobs = []
                    for _ in range(rng.randint(0, 3)):
                        sequence += 1
                        jobs.append({"client": number, "n": sequence})
                    batch_id = conn.execute(
                        "SELECT irp_create_batch(%s, %s, %s, allow_duplicate => %s, jobs => %s)",
                        (batch_type, configuration_id, number, op == "create_dup",
                         Jsonb(jobs) if jobs else None)).fetchone()[0]
                    created.append((batch_id, jobs))
                elif op == "insert":
                    batch_id = conn.execute(
                        "INSERT INTO irp_batch (step_id, configuration_id, batch_type)"
                        " VALUES (%s, %s, %s) RETURNING id",
                        (number, configuration_id, batch_type)).fetchone()[0]
                    created.append((batch_id, []))
                elif op == "cancel":
                    batch_id = pick(conn, "SELECT id FROM irp_batch WHERE status IN ('INITIATED', 'ACTIVE')")
                    if batch_id is not None:
                        conn.execute("SELECT irp_cancel_batch(%s, 'stress')", (batch_id,))
                elif op == "activate":
                    conn.execute("UPDATE irp_batch SET status = 'ACTIVE', updated_ts = now() WHERE id = ("
                                 "SELECT id FROM irp_batch WHERE status = 'INITIATED' ORDER BY random() LIMIT 1)")
                elif op == "complete":
                    conn.execute("UPDATE irp_batch SET status = 'COMPLETED', completed_ts = now() WHERE id = ("
                                 "SELECT id FROM irp_batch WHERE status = 'ACTIVE' ORDER BY random() LIMIT 1)")
                elif op == "reactivate":
                    conn.execute("UPDATE irp_batch SET status = 'INITIATED', updated_ts = now() WHERE id = ("
                                 "SELECT id FROM irp_batch WHERE status = 'CANCELLED' ORDER BY random() LIMIT 1)")
                elif op == "toggle":
                    # A new version of a batch that stays active, while others probe its key.
                    conn.execute("UPDATE irp_batch SET status = CASE status WHEN 'INITIATED' THEN 'ACTIVE'"
                                 " ELSE 'INITIATED' END::batch_status_enum WHERE id = ("
                                 "SELECT id FROM irp_batch WHERE configuration_id = %s AND batch_type = %s"
                                 " AND status IN ('INITIATED', 'ACTIVE') ORDER BY random() LIMIT 1)",
                                 (configuration_id, batch_type))
                else:
                    conn.execute(
                        "UPDATE irp_job SET status = CASE status WHEN 'INITIATED' THEN 'SUBMITTED'"
                        " WHEN 'SUBMITTED' THEN 'RUNNING' ELSE 'FINISHED' END::job_status_enum,"
                        " updated_ts = now() WHERE id = (SELECT id FROM irp_job"
                        " WHERE status IN ('INITIATED', 'SUBMITTED', 'RUNNING') ORDER BY random() LIMIT 1)")
            except psycopg.Error as e:
                state = e.diag.sqlstate
                message = e.diag.message_primary or ""
                if state == "23505" and message.startswith(DUPLICATE_MESSAGE) and e.diag.table_name == "irp_batch":
                    errors["descriptive duplicate (23505)"] += 1
                else:
                    errors[f"{state}: {message}"] += 1
                    unexpected.append(f"client {number}, {op}: {state}: {message}")
    return {"created": created, "ops": dict(ops), "errors": dict(errors), "unexpected": unexpected}


def hot_worker(number, seconds):
    """One client of the hot-key race: even numbers flip the key's active batch
    between INITIATED and ACTIVE (a new row version that stays active), odd
    numbers try to create a second batch for the key."""
    errors = Counter()
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if number % 2 == 0:
                    conn.execute("UPDATE irp_batch SET status = CASE status WHEN 'INITIATED' THEN 'ACTIVE'"
                                 " ELSE 'INITIATED' END::batch_status_enum"
                                 " WHERE configuration_id = 999999 AND status IN ('INITIATED', 'ACTIVE')")
                else:
                    conn.execute("SELECT irp_create_batch('HOT', 999999, 1)")
                errors["none"] += 1
            except psycopg.Error as e:
                message = e.diag.message_primary or ""
                errors["descriptive" if message.startswith(DUPLICATE_MESSAGE) else f"{e.diag.sqlstate}: {message}"] += 1
    return dict(errors)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--keys", type=int, default=4)
    parser.add_argument("--hot-seconds", type=float, default=5)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hot-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    keys = keys_for(args.keys)
    if args.hot_worker is not None:
        print(json.dumps(hot_worker(args.hot_worker, args.hot_seconds)))
        return 0
    if args.worker:
        # One client process: its report is its standard output.
        print(json.dumps(worker(args.worker, args.seconds, keys)))
        return 0

    with psycopg.connect("dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION irp_batch")

    # Each client is a process of its own (this script with --worker).
    clients = [subprocess.Popen([sys.executable, __file__, "--worker", str(n), "--seconds", str(args.seconds),
                                 "--keys", str(args.keys)], stdout=subprocess.PIPE, text=True)
               for n in range(1, args.clients + 1)]
    reports = []
    for c in clients:
        out, _ = c.communicate()
        if c.returncode != 0:
            print(f"not ok 1 - client process failed ({c.returncode})")
            return 1
        reports.append(json.loads(out))

    created = {}
    ops, errors = Counter(), Counter()
    unexpected = []
    for r in reports:
        created.update({batch_id: jobs for batch_id, jobs in r["created"]})
        ops.update(r["ops"])
        errors.update(r["errors"])
        unexpected += r["unexpected"]
    print(f"# {args.clients} clients, {args.seconds:g} s, {len(keys)} keys: "
          + ", ".join(f"{op} {n}" for op, n in sorted(ops.items())))
    print("# errors: " + (", ".join(f"{e} x{n}" for e, n in sorted(errors.items())) or "none"))

    checks = []
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        checks += key_invariants(conn)

        rows = conn.execute(
            "SELECT b.id, coalesce(jsonb_agg(j.job_configuration_data ORDER BY j.id)"
            " FILTER (WHERE j.id IS NOT NULL), '[]') FROM irp_batch b LEFT JOIN irp_job j ON j.batch_id = b.id"
            " GROUP BY b.id").fetchall()
        in_db = {batch_id: jobs for batch_id, jobs in rows}
        missing = sorted(set(created) - set(in_db))
        extra = sorted(set(in_db) - set(created))
        wrong_jobs = sorted(b for b in created if b in in_db and in_db[b] != created[b])
        checks.append((not missing and not extra,
                       f"the {len(created)} batches the clients created exist, and no other", (missing, extra)))
        checks.append((not wrong_jobs, "every batch has exactly the jobs it was created with", wrong_jobs))

        cancels = conn.execute(
            "SELECT count(*) FROM irp_batch b WHERE b.status = 'CANCELLED' AND NOT EXISTS"
            " (SELECT 1 FROM irp_batch_event e WHERE e.batch_id = b.id AND e.event IN ('CANCELLED', 'STATUS_CHANGED')"
            " AND (e.event = 'CANCELLED' OR e.details->>'new_status' = 'CANCELLED'))").fetchone()[0]
        checks.append((cancels == 0, "every cancelled batch has its cancellation in the audit trail", cancels))

    checks.append((not unexpected, "no error other than the descriptive duplicate error", unexpected[:10]))

    # The hot key: one active batch whose row is rewritten all the time, and
    # creators that must always be refused with the descriptive error.
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        conn.execute("SELECT irp_create_batch('HOT', 999999, 1)")
    hot = [subprocess.Popen([sys.executable, __file__, "--hot-worker", str(n), "--hot-seconds", str(args.hot_seconds)],
                            stdout=subprocess.PIPE, text=True) for n in range(4)]
    hot_errors = Counter()
    for c in hot:
        out, _ = c.communicate()
        hot_errors.update(json.loads(out) if c.returncode == 0 else {"client process failed": 1})
    print("# hot key: " + ", ".join(f"{e} x{n}" for e, n in sorted(hot_errors.items())))
    hot_unexpected = {e: n for e, n in hot_errors.items() if e not in ("none", "descriptive")}
    checks.append((not hot_unexpected and hot_errors["descriptive"] > 0,
                   "a batch rewritten while it stays active is never missed by a concurrent creator", hot_unexpected))
    checks.append((ops["create"] + ops["create_dup"] > 0 and errors["descriptive duplicate (23505)"] > 0,
                   "the clients raced: batches were created and duplicates refused", dict(ops)))

    return report(checks)


if __name__ == "__main__":
    sys.exit(main())
