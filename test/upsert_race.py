#!/usr/bin/env python3
"""Upserts of one batch racing the transactions that lock, cancel and commit it.

Clients (threads, one connection each, autocommit, READ COMMITTED) hammer a
single batch for a few seconds:

  - upserters: INSERT ... ON CONFLICT (id) DO UPDATE SET status = 'ACTIVE'
    of that batch, with the batch's own key, over and over;
  - togglers: BEGIN; lock the batch FOR NO KEY UPDATE; sleep 2 ms; set it
    CANCELLED; COMMIT, over and over.

Each toggler's commit wakes the upserters queued on the batch's row lock at
once: one reactivates the batch (a non-HOT update: a new row version with new
index entries), while the others look for the batch's id again. Those looks
are dirty-snapshot index scans that hold no page lock, so one that reads the
primary key's page before the new version's entry is there and visits the
old version after the update committed misses the batch. PostgreSQL's own
pre-check of INSERT ... ON CONFLICT is such a scan: it then inserts the row
speculatively, and idx_batch_unique_active, which is not the arbiter, raises
PostgreSQL's bare 23505 against the batch's new version. The guard's
look-up of the id was one too: it then kept the key's claim while
PostgreSQL waited for the batch's row lock, and deadlocked (40P01) with the
reactivating upsert that wanted the claim. Before the fixes every 15-second
run failed (eight runs on two cores: 0 to 13 bare 23505s and 0 to 8
deadlocks each).

Checks (TAP): the load ran; no client saw any error (there is nothing for
the duplicate error to refuse: the key has no other batch); the batch is
the only row (no upsert inserted one) and the key invariants hold.

A second round (--two-batches; make test runs both) gives the key a second
active batch, an intentional duplicate, and the clients aim at either: an
upsert of one now gets the descriptive duplicate error (the other batch is
active), and nothing else. The guard's lock of the upserted batch is taken
after the key's check, holding no claim: taken before, two upserts of the
two batches each found the other's batch locked, waited for its locker,
and deadlocked (40P01, seen once in outside_load's READ COMMITTED mix).

Connects through libpq's environment (PGHOST, PGPORT, PGUSER) and works in
its own database. Usage: upsert_race.py [--seconds N] [--upserters N]
[--togglers N] [--without-guard] [--two-batches]. --without-guard runs the same load on a
plain table with the same two unique indexes and no extension, to show
PostgreSQL's own behaviour (its bare 23505s are then expected, not checked).
"""
import argparse
import random
import sys
import threading
import time
from collections import Counter

import psycopg

from invariants import key_invariants, report

DATABASE = "irp_batch_upsert_race"
UPSERT = ("INSERT INTO irp_batch (id, step_id, configuration_id, batch_type, status)"
          " VALUES (%s, 4, 1, 'EDM_CREATION', 'ACTIVE')"
          " ON CONFLICT (id) DO UPDATE SET status = 'ACTIVE', updated_ts = clock_timestamp()")


def setup(without_guard, two_batches):
    """A fresh database with one batch of key (1, EDM_CREATION), and with
    two_batches an active intentional duplicate of it; returns their ids."""
    with psycopg.connect("dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        if without_guard:
            conn.execute("CREATE TABLE irp_batch (id int PRIMARY KEY, step_id int NOT NULL,"
                         " configuration_id int NOT NULL, batch_type text NOT NULL,"
                         " status text NOT NULL DEFAULT 'INITIATED', duplicate_of int, updated_ts timestamptz)")
            conn.execute("CREATE UNIQUE INDEX idx_batch_unique_active ON irp_batch (configuration_id, batch_type)"
                         " WHERE status IN ('INITIATED', 'ACTIVE') AND duplicate_of IS NULL")
            conn.execute("INSERT INTO irp_batch (id, step_id, configuration_id, batch_type) VALUES (1, 1, 1, 'EDM_CREATION')")
            return [1]
        conn.execute("CREATE EXTENSION irp_batch")
        ids = [conn.execute("SELECT irp_create_batch('EDM_CREATION', 1, 1)").fetchone()[0]]
        if two_batches:
            ids.append(conn.execute("SELECT irp_create_batch('EDM_CREATION', 1, 1, allow_duplicate => true)")
                       .fetchone()[0])
        return ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--upserters", type=int, default=8)
    parser.add_argument("--togglers", type=int, default=2)
    parser.add_argument("--without-guard", action="store_true")
    parser.add_argument("--two-batches", action="store_true")
    args = parser.parse_args()

    batches = setup(args.without_guard, args.two_batches)
    duplicate_error = "Active batch already exists"
    stop = threading.Event()
    guard = threading.Lock()
    done, errors, samples = Counter(), Counter(), []

    def record(kind, e):
        if args.two_batches and e.diag.sqlstate == "23505" and duplicate_error in (e.diag.message_primary or ""):
            with guard:
                done["refused"] += 1
            return
        with guard:
            errors[f"{kind}: {e.diag.sqlstate}: {e.diag.message_primary}"] += 1
            if len(samples) < 3:
                samples.append(f"{kind}: {e.diag.sqlstate}: {e.diag.message_primary} | {e.diag.message_detail}")

    def upserter():
        with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
            while not stop.is_set():
                try:
                    conn.execute(UPSERT, (random.choice(batches),))
                    with guard:
                        done["upsert"] += 1
                except psycopg.Error as e:
                    record("upsert", e)

    def toggler():
        with psycopg.connect(f"dbname={DATABASE}") as conn:
            while not stop.is_set():
                batch = random.choice(batches)
                try:
                    with conn.transaction():
                        conn.execute("SELECT 1 FROM irp_batch WHERE id = %s FOR NO KEY UPDATE", (batch,))
                        conn.execute("SELECT pg_sleep(0.002)")
                        conn.execute("UPDATE irp_batch SET status = 'CANCELLED', updated_ts = clock_timestamp()"
                                     " WHERE id = %s", (batch,))
                    with guard:
                        done["toggle"] += 1
                except psycopg.Error as e:
                    record("toggle", e)

    threads = ([threading.Thread(target=upserter) for _ in range(args.upserters)]
               + [threading.Thread(target=toggler) for _ in range(args.togglers)])
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()

    bare = sum(n for k, n in errors.items() if "idx_batch_unique_active" in k)
    deadlocks = sum(n for k, n in errors.items() if ": 40P01:" in k)
    what = "without the guard" if args.without_guard else "irp_batch, two batches of the key" if args.two_batches \
        else "irp_batch"
    print(f"# {what}: {done['upsert']} upserts, {done['refused']} refused as duplicates,"
          f" {done['toggle']} cancels; bare 23505 on idx_batch_unique_active x{bare}, 40P01 x{deadlocks}")
    for line in samples:
        print(f"#   {line}")
    if args.without_guard:
        return 0

    label = "two batches of one key: " if args.two_batches else ""
    checks = [(done["upsert"] + done["refused"] > 0 and done["toggle"] > 0,
               f"{label}the upserts and the cancels ran", dict(done)),
              (not errors, f"{label}no upsert or cancel failed"
               f"{' but with the descriptive duplicate error' if args.two_batches else ''}"
               " (no bare 23505, no deadlock)", dict(errors))]
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        rows = conn.execute("SELECT count(*) FROM irp_batch").fetchone()[0]
        checks.append((rows == len(batches), f"{label}no upsert inserted a row", rows))
        checks += key_invariants(conn)
    return report(checks)


if __name__ == "__main__":
    sys.exit(main())
