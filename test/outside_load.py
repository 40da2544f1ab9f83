#!/usr/bin/env python3
"""Outside load: pgbench against the duplicate guard, then the invariants and amcheck.

pgbench (PostgreSQL's own load generator, from Debian's postgresql-15) runs
a mix of custom scripts (test/pgbench/*.sql) with several clients on four
hot keys, once at each isolation level (READ COMMITTED, REPEATABLE READ,
SERIALIZABLE): irp_create_batch with and without allow_duplicate (with
jobs), irp_ensure_batch, irp_cancel_batch, status UPDATEs (INITIATED <->
ACTIVE, reactivation of cancelled batches), key moves, INSERT ... ON
CONFLICT (id) DO UPDATE upserts of existing batches, and transactions that
hold a batch FOR KEY SHARE or FOR NO KEY UPDATE for a moment. Meanwhile
another connection rebuilds idx_batch_active with REINDEX CONCURRENTLY over
and over. Each transaction of the mix locks at most one batch row, so
PostgreSQL without the guard never deadlocks on it.

Afterwards it prints the errors by SQLSTATE for each level and TAP lines:

  - the only errors are the descriptive duplicate error (23505; never for
    allow_duplicate or irp_ensure_batch), rule 2's refusal to move a batch
    that has intentional duplicates (23514), and,
    under REPEATABLE READ and SERIALIZABLE, serialization failures (40001);
    no deadlock (40P01), no client aborted;
  - no key has two active batches without duplicate_of; every duplicate_of
    names a batch of the same key; every batch has exactly one creation
    event and the jobs it was created with; no upsert inserted a row;
  - amcheck's bt_index_check(index, heapallindexed => true) passes on every
    index of the extension's tables; REINDEX CONCURRENTLY never failed.

Before the fixes of issue 13 this mix deadlocked (40P01) 14 to 20 times in
10 seconds at each level (upserts waiting for a locked batch while holding
the key's claim).

Connects through libpq's environment (PGHOST, PGPORT, PGUSER) and works in
its own database. Usage: outside_load.py [--seconds N per level] [--clients N]
"""
import argparse
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg

from invariants import key_invariants, report

DATABASE = "irp_batch_outside_load"
PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"
SCRIPTS = Path(__file__).resolve().parent / "pgbench"
# script: weight in the mix
MIX = {"create": 3, "duplicate": 2, "ensure": 2, "cancel": 5, "status": 2, "move": 1, "upsert": 4,
       "key_share": 2, "no_key_update": 3}
LEVELS = ["read committed", "repeatable read", "serializable"]
DUPLICATE_MESSAGE = "Active batch already exists for configuration "
RULE2_MESSAGE = "cannot change the key of a batch that has intentional duplicates"
# allow_duplicate and irp_ensure_batch never get the duplicate error.
NEVER_FAIL = {"duplicate", "ensure"}


def run_pgbench(level, seconds, clients):
    """One pgbench run at one isolation level: its counts of failures by kind, and aborted clients."""
    env = dict(os.environ, PGDATABASE=DATABASE,
               PGOPTIONS="-c default_transaction_isolation=" + level.replace(" ", "\\ "))
    cmd = [PGBENCH, "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "--failures-detailed"]
    for script, weight in MIX.items():
        cmd += ["-f", f"{SCRIPTS / (script + '.sql')}@{weight}"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    out = done.stdout
    counts = Counter()
    # Totals, then one section per script ("SQL script N: path").
    for kind, pattern in (("transactions", r"number of transactions actually processed: (\d+)"),
                          ("40001", r"number of serialization failures: (\d+)"),
                          ("40P01", r"number of deadlock failures: (\d+)")):
        m = re.search(pattern, out)
        counts[kind] = int(m.group(1)) if m else -1
    per_script = {}
    for section in re.split(r"\nSQL script \d+: ", out)[1:]:
        name = Path(section.split("\n", 1)[0].strip()).stem
        s = Counter()
        m = re.search(r" - (\d+) transactions", section)
        s["transactions"] = int(m.group(1)) if m else 0
        for kind, pattern in (("40001", r"number of serialization failures: (\d+)"),
                              ("40P01", r"number of deadlock failures: (\d+)")):
            m = re.search(pattern, section)
            s[kind] = int(m.group(1)) if m else 0
        per_script[name] = s
    aborted = [line for line in done.stderr.splitlines() if "aborted" in line or "ERROR" in line]
    if done.returncode not in (0, 2) or counts["transactions"] < 0:
        aborted.append(f"pgbench exited with {done.returncode}: {done.stderr.strip()[-500:]}")
    return counts, per_script, aborted


def reindex_loop(stop, results):
    """REINDEX CONCURRENTLY of idx_batch_active, over and over, while the load runs."""
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        while not stop.is_set():
            try:
                conn.execute("REINDEX INDEX CONCURRENTLY idx_batch_active")
                results["ok"] += 1
            except psycopg.Error as e:
                results[f"{e.diag.sqlstate}: {e.diag.message_primary}"] += 1
            stop.wait(0.2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per isolation level")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    with psycopg.connect("dbname=postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION irp_batch")
        conn.execute("CREATE EXTENSION amcheck")
        conn.execute((SCRIPTS / "setup.sql").read_text())

    checks = []
    reindexes = Counter()
    for level in LEVELS:
        stop = threading.Event()
        rebuilder = threading.Thread(target=reindex_loop, args=(stop, reindexes))
        rebuilder.start()
        counts, per_script, aborted = run_pgbench(level, args.seconds, args.clients)
        stop.set()
        rebuilder.join()
        with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
            recorded = conn.execute(
                "SELECT script, sqlstate, message, count(*) FROM load.errors WHERE isolation = %s"
                " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", (level,)).fetchall()
            # Everything known of an error the check does not expect, for whoever reads a failure.
            for script, state, message, detail, context, batch in conn.execute(
                    "SELECT script, sqlstate, message, detail, context, batch FROM load.errors"
                    " WHERE isolation = %s AND NOT ((sqlstate = '23505' AND message LIKE %s AND script <> ALL(%s))"
                    " OR (sqlstate = '23514' AND message = %s AND script = 'move')) LIMIT 5",
                    (level, DUPLICATE_MESSAGE + "%", list(NEVER_FAIL), RULE2_MESSAGE)).fetchall():
                print(f"# unexpected {script} error on batch {batch}: {state} {message}")
                print(f"#   detail: {detail}")
                print("#   context: " + " | ".join((context or "").splitlines()))
        by_state = Counter()
        unexpected = []
        for script, state, message, n in recorded:
            if state == "23505" and message.startswith(DUPLICATE_MESSAGE) and script not in NEVER_FAIL:
                by_state["23505 descriptive"] += n
            elif state == "23514" and message == RULE2_MESSAGE and script == "move":
                by_state["23514 rule 2 (move)"] += n
            else:
                by_state[f"{state} {script}"] += n
                unexpected.append(f"{script}: {state}: {message} x{n}")
        by_state["40001"] = counts["40001"]
        by_state["40P01"] = counts["40P01"]
        print(f"# {level}: {counts['transactions']} transactions; errors by SQLSTATE: "
              + ", ".join(f"{k} x{v}" for k, v in sorted(by_state.items())))
        print("#   40001 by script: " + (", ".join(
            f"{name} x{s['40001']}" for name, s in sorted(per_script.items()) if s["40001"]) or "none"))
        checks.append((counts["transactions"] > 0 and not aborted,
                       f"{level}: pgbench ran the mix, no client aborted", aborted[:5]))
        checks.append((not unexpected, f"{level}: no error but the descriptive 23505 (not for allow_duplicate or ensure) and rule 2's 23514", unexpected))
        serialization_ok = counts["40001"] == 0 if level == "read committed" else True
        checks.append((serialization_ok and counts["40P01"] == 0,
                       f"{level}: no deadlock" + (", no serialization failure" if level == "read committed" else ""),
                       {"40001": counts["40001"], "40P01": counts["40P01"],
                        "40P01 by script": {n: s["40P01"] for n, s in per_script.items() if s["40P01"]}}))

    print("# REINDEX CONCURRENTLY under load: " + ", ".join(f"{k} x{v}" for k, v in sorted(reindexes.items())))
    checks.append((reindexes["ok"] > 0 and len(reindexes) == 1, "REINDEX CONCURRENTLY of idx_batch_active never failed",
                   dict(reindexes)))

    with psycopg.connect(f"dbname={DATABASE}", autocommit=True) as conn:
        checks += key_invariants(conn)
        # create makes 2 jobs (step 1), allow_duplicate none (step 2), ensure 1 when it creates (step 3);
        # an upsert (step 4) never inserts: every id it names exists.
        jobs = conn.execute(
            "SELECT b.id, b.step_id, count(j.id) FROM irp_batch b LEFT JOIN irp_job j ON j.batch_id = b.id"
            " GROUP BY b.id HAVING count(j.id) <> CASE b.step_id WHEN 1 THEN 2 WHEN 3 THEN 1 ELSE 0 END"
            " OR b.step_id NOT IN (1, 2, 3)").fetchall()
        total = conn.execute("SELECT count(*), count(duplicate_of) FROM irp_batch").fetchone()
        checks.append((not jobs and total[0] > 0,
                       f"all {total[0]} batches ({total[1]} duplicates) have the jobs they were created with;"
                       " no upsert inserted a row", jobs))
        indexes = conn.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_am a ON a.oid = c.relam JOIN pg_class t ON t.oid = i.indrelid"
            " WHERE a.amname = 'btree' AND t.relname IN ('irp_batch', 'irp_job', 'irp_batch_event')"
            " AND t.relnamespace = 'public'::regnamespace ORDER BY 1").fetchall()
        broken = []
        for (name,) in indexes:
            try:
                conn.execute("SELECT bt_index_check(%s::regclass, heapallindexed => true)", (name,))
            except psycopg.Error as e:
                broken.append(f"{name}: {e.diag.sqlstate}: {e.diag.message_primary}")
        print(f"# amcheck bt_index_check(heapallindexed => true) on {len(indexes)} indexes: "
              + ", ".join(n for (n,) in indexes))
        checks.append((indexes and not broken, f"amcheck finds all {len(indexes)} indexes consistent", broken))

    return report(checks)


if __name__ == "__main__":
    sys.exit(main())
