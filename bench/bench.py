#!/usr/bin/python3
"""bench/bench.py: irp_batch's performance benchmark (issue 6).

Runs against the throwaway cluster that bench/run.sh started (PGHOST, PGPORT,
PGUSER in the environment) and compares the extension (schema irp_ext) with
the PL/pgSQL baseline (bench/baseline.sql, schema irp_plpgsql) and with plain
tables (bench/reference.sql: irp_noguard, irp_bare):

  check      the baseline does what the extension does (errors, audit rows)
  insert     INSERT ... SELECT into irp_batch, per row
  create     irp_create_batch with 0, 2 and 10 jobs, per call
  pgbench    one create per transaction, 1 and 2 clients, transactions per second
  scale      one create with 10^3, 10^5, 10^6 batches already in the table
  cancel     irp_cancel_batch of batches with 10, 1,000, 100,000 jobs vs. two bare UPDATEs
  active     irp_get_active_batches_for_config at the largest size: plan and time

Every measurement but pgbench is timed inside the server: a DO block reads
clock_timestamp() before and after the work and leaves the difference in a
setting that the client reads afterwards, so neither the network nor the
client's Python is in the numbers. The variants of a comparison run
interleaved (A B C, C B A, A B C, ...) after one warm-up round that is thrown
away; the report gives medians, and ratios of medians with the range of the
per-round ratios.

Writes BENCH_OUT/results.md, BENCH_OUT/chart.svg and BENCH_OUT/results.json.
Prints "ok N - step" / "not ok N - step" per step; exits 1 if any step
failed, never because of a time.
"""
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import psycopg
from psycopg import sql

HERE = os.path.dirname(os.path.abspath(__file__))
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
OUT = os.environ.get("BENCH_OUT", os.path.join(HERE, "results"))
SMOKE = os.environ.get("BENCH_SMOKE", "") not in ("", "0")


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_list(name, default):
    value = os.environ.get(name)
    return [int(float(v)) for v in value.split(",")] if value else default


# Sizes: full run, or the smoke run of make test (tiny, every step still runs).
if SMOKE:
    ROUNDS = env_int("BENCH_ROUNDS", 2)
    INSERT_ROWS = 50
    CREATE_CALLS = 10
    PGBENCH_SECONDS, PGBENCH_ROUNDS = env_int("BENCH_PGBENCH_SECONDS", 1), 1
    SCALE_SIZES = env_list("BENCH_SCALE_SIZES", [100, 1000, 5000])
    SCALE_CALLS = 10
    CANCEL_JOBS = [(10, 5), (100, 2), (1000, 1)]   # (jobs per batch, batches cancelled per sample)
    CANCEL_HISTORY = (100, 10)                      # (finished batches, finished jobs each) already there
    ACTIVE_CALLS = 20
    MEMORY_ROWS = [1000, 10000]
else:
    ROUNDS = env_int("BENCH_ROUNDS", 9)
    INSERT_ROWS = 3000
    CREATE_CALLS = 500
    PGBENCH_SECONDS, PGBENCH_ROUNDS = env_int("BENCH_PGBENCH_SECONDS", 5), env_int("BENCH_PGBENCH_ROUNDS", 5)
    SCALE_SIZES = env_list("BENCH_SCALE_SIZES", [1000, 100000, 1000000])
    SCALE_CALLS = 1000
    CANCEL_JOBS = [(10, 200), (1000, 20), (100000, 1)]
    CANCEL_HISTORY = (1000, 100)
    ACTIVE_CALLS = 2000
    MEMORY_ROWS = env_list("BENCH_MEMORY_ROWS", [100000, 1000000])
CANCEL_ROUNDS = max(2, ROUNDS - 2)
JOB_COUNTS = [0, 2, 10]
CLIENTS = [1, 2]

EXT, PLPG, BARE, NOGUARD = "irp_ext", "irp_plpgsql", "irp_bare", "irp_noguard"
TARGETS = []          # {target, ratio, low, high, limit, met} for the summary
STEPS = []            # (name, ok)
RESULTS = {}          # everything, for results.json


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- database


def connect(dbname):
    conn = psycopg.connect(dbname=dbname, autocommit=True)
    conn.execute("SET client_min_messages = warning")
    return conn


def psql_file(dbname, path, **variables):
    cmd = [os.path.join(PGBIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dbname, "-f", path]
    for k, v in variables.items():
        cmd += ["-v", f"{k}={v}"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def create_database(name, schemas):
    """A database with the given schemas: the extension, the baseline, the reference tables."""
    with connect("postgres") as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with connect(name) as c:
        if EXT in schemas:
            c.execute("CREATE SCHEMA irp_ext")
            c.execute("CREATE EXTENSION irp_batch SCHEMA irp_ext")
    if PLPG in schemas:
        psql_file(name, os.path.join(HERE, "baseline.sql"))
    for ref, unique in ((BARE, "on"), (NOGUARD, "off")):
        if ref in schemas:
            psql_file(name, os.path.join(HERE, "reference.sql"), schema=ref, unique_index=unique)


def ensure_database(name, schemas):
    """Creates the database unless an earlier step did (steps can run alone: BENCH_ONLY)."""
    with connect("postgres") as c:
        if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
    create_database(name, schemas)


def timed(conn, body, declare=""):
    """Runs body (PL/pgSQL statements) in a DO block; returns its server time in microseconds."""
    conn.execute(
        "DO $bench$ DECLARE t0 timestamptz; " + declare + " BEGIN t0 := clock_timestamp(); " + body +
        " PERFORM pg_catalog.set_config('bench.elapsed_us',"
        " (extract(epoch FROM clock_timestamp() - t0) * 1000000)::text, false); END $bench$")
    return float(conn.execute("SELECT current_setting('bench.elapsed_us')").fetchone()[0])


def interleave(variants, rounds, warmup=1):
    """variants: [(name, fn)]; fn(round) returns one sample. Runs A B C, C B A, ...; drops warm-up rounds."""
    samples = {name: [] for name, _ in variants}
    for r in range(warmup + rounds):
        order = variants if r % 2 == 0 else list(reversed(variants))
        for name, fn in order:
            value = fn(r)
            if r >= warmup:
                samples[name].append(value)
    return samples


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def ratio(samples, a, b, higher_is_better=False):
    """Time ratio a/b of the medians, and the range of the per-round ratios; for rates
    (higher_is_better, e.g. transactions/s) the time ratio is b/a."""
    ma, mb = median(samples[a]), median(samples[b])
    pairs = [(x / y if not higher_is_better else y / x) for x, y in zip(samples[a], samples[b]) if x and y]
    r = (ma / mb) if not higher_is_better else (mb / ma)
    return r, (min(pairs), max(pairs)) if pairs else (r, r)


def target(description, value, spread, limit, at_least=False):
    """A target of issue 14: value <= limit (a time ratio), or value >= limit when at_least (a rate ratio)."""
    met = value >= limit if at_least else value <= limit
    TARGETS.append({"target": description, "ratio": value, "low": spread[0], "high": spread[1],
                    "limit": limit, "at_least": at_least, "met": met})
    return met


# ---------------------------------------------------------------- check


def step_check():
    """The baseline behaves as the extension: same results, errors and audit rows."""
    create_database("irp_check", [EXT, PLPG])
    names = {
        EXT: {"create": "irp_ext.irp_create_batch", "cancel": "irp_ext.irp_cancel_batch",
              "active": "irp_ext.irp_get_active_batches_for_config"},
        PLPG: {"create": "irp_plpgsql.create_batch", "cancel": "irp_plpgsql.cancel_batch",
               "active": "irp_plpgsql.get_active_batches_for_config"},
    }
    script = [
        "SELECT {create}('EDM_CREATION', 42, 3, false, '[{{\"edm\": \"A\"}}, {{\"edm\": \"B\"}}, {{\"edm\": \"C\"}}]')",
        "SELECT {create}('EDM_CREATION', 42, 3)",
        "SELECT {create}('EDM_CREATION', 42, 3, true)",
        "SELECT {create}('PORTFOLIO_CREATION', 42, 3, false, '[{{\"p\": 1}}, {{\"p\": 2}}]')",
        "SELECT id, batch_type, status, job_count, duplicate_of FROM {active}(42)",
        "SELECT id, batch_type, status, job_count, duplicate_of FROM {active}(42, 'EDM_CREATION')",
        "UPDATE {s}.irp_job SET status = 'SUBMITTED' WHERE id = 1",
        "UPDATE {s}.irp_job SET status = 'FINISHED' WHERE id = 2",
        "SELECT {cancel}(1, 'Re-ran step 3')",
        "SELECT {cancel}(1)",
        "SELECT {cancel}(99)",
        "SELECT {cancel}(2, '  ')",
        "UPDATE {s}.irp_batch SET status = 'COMPLETED' WHERE id = 4",
        "UPDATE {s}.irp_batch SET duplicate_of = NULL WHERE id = 3",
        "INSERT INTO {s}.irp_batch (step_id, configuration_id, batch_type) VALUES (1, 42, 'EDM_CREATION')",
        "INSERT INTO {s}.irp_batch (step_id, configuration_id, batch_type) SELECT 1, g, 'BULK' FROM generate_series(1, 3) g",
        "INSERT INTO {s}.irp_batch (step_id, configuration_id, batch_type, duplicate_of) VALUES (1, 1, 'BULK', 5)",
        "INSERT INTO {s}.irp_batch (step_id, configuration_id, batch_type, duplicate_of) VALUES (1, 1, 'BULK', 999)",
        "INSERT INTO {s}.irp_batch (step_id, configuration_id, batch_type, duplicate_of) VALUES (1, 1, 'BULK', 6)",
        "UPDATE {s}.irp_batch SET configuration_id = 43 WHERE id = 3",
        "UPDATE {s}.irp_batch SET configuration_id = 7 WHERE id = 6",
        "INSERT INTO {s}.irp_batch (step_id, configuration_id, batch_type, duplicate_of) VALUES (1, 1, 'BULK', 7)",
        "UPDATE {s}.irp_batch SET duplicate_of = 8 WHERE id = 8",
        "UPDATE {s}.irp_batch SET status = 'ACTIVE' WHERE id = 4",
        "UPDATE {s}.irp_batch SET status = 'INITIATED' WHERE id = 1",
        "UPDATE {s}.irp_batch SET configuration_id = 42 WHERE id = 3",
        "UPDATE {s}.irp_batch SET status = 'COMPLETED' WHERE id = 1",
        "UPDATE {s}.irp_batch SET configuration_id = 42 WHERE id = 3",
        "UPDATE {s}.irp_batch SET id = 100 WHERE id = 6",
        "DELETE FROM {s}.irp_batch WHERE id = 7",
        "SELECT {create}('', 1, 1)",
        "SELECT {create}(NULL, 1, 1)",
        "SELECT {create}(' X', 1, 1)",
        "SELECT {create}('X', 0, 1)",
        "SELECT {create}('X', 1, -1)",
        "SELECT {create}('X', 1, 1, false, '{{}}')",
        "SELECT {create}('X', 1, 1, false, '[{{}}, 1]')",
        "SELECT {create}('X', 1, 1, false, '[]')",
        "SELECT {create}('X', 1, 1, true)",
        "DELETE FROM {s}.irp_batch WHERE id = 6",
        "TRUNCATE {s}.irp_job, {s}.irp_batch",
        "SELECT batch_id, event, reason, actor, details FROM {s}.irp_batch_event ORDER BY id",
    ]
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d")
    own_name = re.compile(r"\birp_(create_batch|cancel_batch|get_active_batches_for_config)\b")   # irp_x() vs x()
    outcomes = {}
    for schema in (EXT, PLPG):
        outcomes[schema] = []
        with connect("irp_check") as c:
            for stmt in script:
                text = stmt.format(s=schema, **names[schema])
                try:
                    cur = c.execute(text)
                    rows = cur.fetchall() if cur.description else cur.rowcount
                    outcomes[schema].append(("ok", json.dumps(rows, default=str)))
                except psycopg.Error as e:
                    d = e.diag
                    outcomes[schema].append(("error", d.sqlstate, d.message_primary,
                                             own_name.sub(r"\1", stamp.sub("<ts>", d.message_detail or "")),
                                             d.constraint_name, d.table_name))
    differences = [(stmt, a, b) for stmt, a, b in zip(script, outcomes[EXT], outcomes[PLPG]) if a != b]
    RESULTS["check"] = {"statements": len(script), "differences": differences}
    if os.environ.get("BENCH_CHECK_VERBOSE"):
        for stmt, outcome in zip(script, outcomes[EXT]):
            log(f"check: {stmt}\n    {outcome}")
    if differences:
        for stmt, a, b in differences:
            log(f"check: {stmt}\n  extension: {a}\n  baseline:  {b}")
        raise AssertionError(f"the baseline differs from the extension in {len(differences)} statements")
    log(f"check: the baseline and the extension agree on {len(script)} statements")


# ---------------------------------------------------------------- insert


TABLE_ALONE = "extension's table, no trigger"


def step_insert():
    create_database("irp_bench", [EXT, PLPG, BARE, NOGUARD])
    conn = connect("irp_bench")
    n = INSERT_ROWS

    def variant(schema):
        def run(r):
            body = (f"INSERT INTO {schema}.irp_batch (step_id, configuration_id, batch_type)"
                    f" SELECT 1, {r * n} + g, 'BULK_INSERT' FROM generate_series(1, {n}) g;")
            return timed(conn, body) / n
        return run

    def table_alone(r):
        """The extension's table with its indexes and no trigger (session_replication_role = replica):
        what its rows cost before the guard and the audit."""
        body = ("PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);"
                f" INSERT INTO {EXT}.irp_batch (step_id, configuration_id, batch_type)"
                f" SELECT 1, {r * n} + g, 'TABLE_ALONE' FROM generate_series(1, {n}) g;"
                " PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);")
        return timed(conn, body) / n

    names = [NOGUARD, BARE, PLPG, EXT]
    samples = interleave([(s, variant(s)) for s in names] + [(TABLE_ALONE, table_alone)], ROUNDS)
    conn.execute("SET session_replication_role = replica")
    conn.execute(f"DELETE FROM {EXT}.irp_batch WHERE batch_type = 'TABLE_ALONE'")
    conn.execute("RESET session_replication_role")
    for schema in (EXT, PLPG):
        batches, events = conn.execute(
            f"SELECT (SELECT count(*) FROM {schema}.irp_batch), (SELECT count(*) FROM {schema}.irp_batch_event)"
        ).fetchone()
        if batches != events:
            raise AssertionError(f"{schema}: {batches} batches but {events} audit rows")
    conn.close()
    vs_plpg, vs_bare = ratio(samples, EXT, PLPG), ratio(samples, EXT, BARE)
    target("insert path: extension / PL/pgSQL baseline", *vs_plpg, 0.35)
    target("insert path: extension / bare unique index", *vs_bare, 2.0)
    RESULTS["insert"] = {"rows_per_statement": n, "unit": "µs per row", "samples": samples,
                         "ext_vs_plpgsql": vs_plpg, "ext_vs_bare": vs_bare,
                         "table_alone_vs_bare": ratio(samples, TABLE_ALONE, BARE)}


# ---------------------------------------------------------------- create


def jobs_json(k):
    return json.dumps([{"edm": f"EDM_{i}", "portfolio": f"P{i}"} for i in range(1, k + 1)]) if k else None


def create_body(schema, batch_type, calls, first_key, jobs):
    """PL/pgSQL loop creating `calls` batches with distinct keys, the variant's way."""
    jobs_sql = "NULL::jsonb" if jobs is None else "'" + jobs + "'::jsonb"
    declare = f"v integer; jobs jsonb := {jobs_sql};"
    if schema == EXT:
        call = f"PERFORM irp_ext.irp_create_batch('{batch_type}', {first_key} + i, 3, false, jobs);"
    elif schema == PLPG:
        call = f"PERFORM irp_plpgsql.create_batch('{batch_type}', {first_key} + i, 3, false, jobs);"
    else:   # what a user with only the unique index writes: two INSERTs
        call = (f"INSERT INTO {schema}.irp_batch (step_id, configuration_id, batch_type)"
                f" VALUES (3, {first_key} + i, '{batch_type}') RETURNING id INTO v;"
                f" IF jobs IS NOT NULL THEN INSERT INTO {schema}.irp_job (batch_id, job_configuration_data)"
                f" SELECT v, e.value FROM jsonb_array_elements(jobs) WITH ORDINALITY AS e(value, n)"
                f" ORDER BY e.n; END IF;")
    return f"FOR i IN 1..{calls} LOOP {call} END LOOP;", declare


def step_create():
    ensure_database("irp_bench", [EXT, PLPG, BARE, NOGUARD])
    conn = connect("irp_bench")
    out = {}
    for k in JOB_COUNTS:
        jobs = jobs_json(k)

        def variant(schema, k=k, jobs=jobs):
            def run(r):
                body, declare = create_body(schema, f"CREATE_{k}", CREATE_CALLS, r * CREATE_CALLS, jobs)
                return timed(conn, body, declare) / CREATE_CALLS
            return run

        samples = interleave([(s, variant(s)) for s in (BARE, PLPG, EXT)], ROUNDS)
        vs_plpg, vs_bare = ratio(samples, EXT, PLPG), ratio(samples, EXT, BARE)
        target(f"irp_create_batch, {k} jobs: extension / PL/pgSQL baseline", *vs_plpg, 0.5)
        target(f"irp_create_batch, {k} jobs: extension / bare INSERTs", *vs_bare, 1.3)
        out[k] = {"samples": samples, "ext_vs_plpgsql": vs_plpg, "ext_vs_bare": vs_bare}
    conn.close()
    RESULTS["create"] = {"calls_per_sample": CREATE_CALLS, "unit": "µs per call", "by_jobs": out}


# ---------------------------------------------------------------- notifications (issue 16)


def timed_with_commit(conn, body, declare, notify):
    """Client time of one autocommit DO block with irp_batch.notify on or off, commit
    included: the messages go to PostgreSQL's NOTIFY queue at commit."""
    setting = "on" if notify else "off"
    t0 = time.perf_counter()
    conn.execute("DO $bench$ DECLARE " + declare + " BEGIN PERFORM pg_catalog.set_config("
                 f"'irp_batch.notify', '{setting}', true); " + body + " END $bench$")
    return (time.perf_counter() - t0) * 1e6


def step_notify():
    """The insert path and irp_create_batch with irp_batch.notify on and off, interleaved."""
    ensure_database("irp_bench", [EXT, PLPG, BARE, NOGUARD])
    conn = connect("irp_bench")
    # The messages are really sent when on, and not when off.
    with connect("irp_bench") as listener:
        got = []
        listener.add_notify_handler(lambda n: got.append(n.payload))
        listener.execute("LISTEN irp_batch_events")
        for notify, key in ((True, 1), (False, 2)):
            got.clear()
            timed_with_commit(conn, f"PERFORM irp_ext.irp_create_batch('NOTIFY_CHECK', {key}, 3);", "", notify)
            deadline = time.time() + (2 if notify else 0.3)
            while not got and time.time() < deadline:
                time.sleep(0.02)
                listener.execute("SELECT 1")   # the handler sees what arrived meanwhile
            if bool(got) != notify:
                raise AssertionError(f"irp_batch.notify {'on' if notify else 'off'}: {len(got)} messages")
    n = INSERT_ROWS
    names = {True: "notify on", False: "notify off"}

    def insert(notify):
        def run(r):
            body = (f"INSERT INTO {EXT}.irp_batch (step_id, configuration_id, batch_type)"
                    f" SELECT 1, {r * n} + g, 'NOTIFY_INSERT_{'ON' if notify else 'OFF'}'"
                    f" FROM generate_series(1, {n}) g;")
            return timed_with_commit(conn, body, "", notify) / n
        return run

    samples = interleave([(names[v], insert(v)) for v in (True, False)], ROUNDS)
    out = {"insert": {"samples": samples, "on_vs_off": ratio(samples, names[True], names[False])}}
    for k in JOB_COUNTS:
        jobs = jobs_json(k)

        def create(notify, k=k, jobs=jobs):
            def run(r):
                body, declare = create_body(EXT, f"NOTIFY_{k}_{'ON' if notify else 'OFF'}", CREATE_CALLS,
                                            r * CREATE_CALLS, jobs)
                return timed_with_commit(conn, body, declare, notify) / CREATE_CALLS
            return run

        samples = interleave([(names[v], create(v)) for v in (True, False)], ROUNDS)
        out[f"create_{k}"] = {"samples": samples, "on_vs_off": ratio(samples, names[True], names[False])}
    conn.close()
    RESULTS["notify"] = {"rows_per_statement": n, "calls_per_sample": CREATE_CALLS, "by_case": out}


# ---------------------------------------------------------------- pgbench


def step_pgbench():
    scripts = {
        EXT: "SELECT irp_ext.irp_create_batch('PGBENCH', :base + :client_id * 10000000 + :n, 3);",
        PLPG: "SELECT irp_plpgsql.create_batch('PGBENCH', :base + :client_id * 10000000 + :n, 3);",
        BARE: "INSERT INTO irp_bare.irp_batch (step_id, configuration_id, batch_type)"
              " VALUES (3, :base + :client_id * 10000000 + :n, 'PGBENCH') RETURNING id;",
    }
    ensure_database("irp_bench", [EXT, PLPG, BARE, NOGUARD])
    workdir = tempfile.mkdtemp(prefix="irp_pgbench.")
    runs = {s: 0 for s in scripts}
    try:
        files = {}
        for schema, text in scripts.items():
            files[schema] = os.path.join(workdir, f"{schema}.sql")
            with open(files[schema], "w") as f:
                f.write("\\set n :n + 1\n" + text + "\n")

        def variant(schema, clients, seconds):
            def run(r):
                runs[schema] += 1
                base = 1000000000 + runs[schema] * 30000000   # fresh keys for every run
                cmd = [os.path.join(PGBIN, "pgbench"), "-n", "-M", "prepared", "-c", str(clients),
                       "-j", str(clients), "-T", str(seconds), "-D", "n=0", "-D", f"base={base}",
                       "-f", files[schema], "irp_bench"]
                res = subprocess.run(cmd, capture_output=True, text=True)
                m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", res.stdout)
                failed = re.search(r"number of failed transactions: (\d+)", res.stdout)
                if res.returncode != 0 or not m or (failed and int(failed.group(1)) > 0):
                    raise RuntimeError(f"pgbench {schema} failed:\n{res.stdout}\n{res.stderr}")
                return float(m.group(1))
            return run

        out = {}
        for clients in CLIENTS:
            # Warm-up: one short run per variant, thrown away.
            for s in scripts:
                variant(s, clients, 1)(0)
            samples = interleave([(s, variant(s, clients, PGBENCH_SECONDS)) for s in (BARE, PLPG, EXT)],
                                 PGBENCH_ROUNDS, warmup=0)
            out[clients] = {"samples": samples,
                            "ext_vs_plpgsql": ratio(samples, EXT, PLPG, higher_is_better=True),
                            "ext_vs_bare": ratio(samples, EXT, BARE, higher_is_better=True)}
            # The target is a rate: extension tps / bare tps (the inverse of the time ratio).
            t, (low, high) = out[clients]["ext_vs_bare"]
            target(f"pgbench, {clients} client{'s' if clients > 1 else ''}: extension tps / bare INSERT tps",
                   1 / t, (1 / high, 1 / low), 0.8, at_least=True)
        RESULTS["pgbench"] = {"seconds": PGBENCH_SECONDS, "rounds": PGBENCH_ROUNDS, "unit": "transactions/s",
                              "by_clients": out}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------- scale


def fill(conn, schema, n):
    """n batches, 98% finished, every key distinct; 3 jobs for every 10th batch; one CREATED event each.
    Loaded with triggers off (session_replication_role = replica), the same rows in every schema."""
    per_type = max(1, n // 10)
    conn.execute("SET session_replication_role = replica")
    conn.execute(f"""
        INSERT INTO {schema}.irp_batch (id, step_id, configuration_id, batch_type, status,
                                        created_ts, updated_ts, completed_ts)
        SELECT i, 3, 1 + (i - 1) % {per_type}, 'T' || ((i - 1) / {per_type}), st::{schema}.batch_status_enum,
               ts, ts, CASE WHEN st IN ('INITIATED', 'ACTIVE') THEN NULL ELSE ts + interval '5 minutes' END
          FROM generate_series(1, {n}) i,
               LATERAL (SELECT now() - ({n} - i) * interval '1 second' AS ts,
                               CASE WHEN i > {n} - {n} / 50 THEN (CASE WHEN i % 2 = 0 THEN 'ACTIVE' ELSE 'INITIATED' END)
                                    WHEN i % 7 = 0 THEN 'CANCELLED' WHEN i % 13 = 0 THEN 'FAILED'
                                    ELSE 'COMPLETED' END AS st) x""")
    conn.execute(f"""
        INSERT INTO {schema}.irp_job (batch_id, status, job_configuration_data, created_ts)
        SELECT b.id, CASE WHEN b.status IN ('INITIATED', 'ACTIVE') THEN 'INITIATED' ELSE 'FINISHED' END::{schema}.job_status_enum,
               jsonb_build_object('portfolio', 'P' || j), b.created_ts
          FROM {schema}.irp_batch b, generate_series(1, 3) j
         WHERE b.id % 10 = 0 ORDER BY b.id, j""")
    conn.execute(f"""
        INSERT INTO {schema}.irp_batch_event (batch_id, event, actor, details, event_ts)
        SELECT b.id, 'CREATED', current_user,
               jsonb_build_object('configuration_id', b.configuration_id, 'batch_type', b.batch_type,
                                  'step_id', b.step_id, 'status', 'INITIATED'), b.created_ts
          FROM {schema}.irp_batch b ORDER BY b.id""")
    conn.execute("RESET session_replication_role")
    for table in ("irp_batch", "irp_job", "irp_batch_event"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{schema}.{table}', 'id'),"
                     f" (SELECT max(id) FROM {schema}.{table}))")
    conn.execute(f"VACUUM (ANALYZE) {schema}.irp_batch, {schema}.irp_job, {schema}.irp_batch_event")
    return {t: conn.execute(f"SELECT max(id) FROM {schema}.{t}").fetchone()[0]
            for t in ("irp_batch", "irp_job", "irp_batch_event")}


def reset_to(conn, schema, high):
    """Removes what a sample added (triggers off), so every sample sees the same table."""
    conn.execute("SET session_replication_role = replica")
    conn.execute(f"DELETE FROM {schema}.irp_job WHERE id > {high['irp_job']}")
    conn.execute(f"DELETE FROM {schema}.irp_batch WHERE id > {high['irp_batch']}")
    conn.execute(f"DELETE FROM {schema}.irp_batch_event WHERE id > {high['irp_batch_event']}")
    conn.execute("RESET session_replication_role")
    conn.execute(f"VACUUM {schema}.irp_batch, {schema}.irp_job, {schema}.irp_batch_event")


SCALE = {}   # size -> (connection, {schema: high-water ids})


def scale_database(size):
    """irp_scale_SIZE: the extension and the baseline, each with `size` batches."""
    name = f"irp_scale_{size}"
    create_database(name, [EXT, PLPG])
    conn = connect(name)
    t0 = time.time()
    SCALE[size] = (conn, {s: fill(conn, s, size) for s in (EXT, PLPG)})
    log(f"scale: filled {name} in {time.time() - t0:.1f} s")


def step_scale():
    jobs = jobs_json(2)
    for size in SCALE_SIZES:
        scale_database(size)

    def variant(size, schema):
        conn, high = SCALE[size]

        def run(r):
            body, declare = create_body(schema, "T0", SCALE_CALLS, 0, jobs)
            us = timed(conn, body, declare) / SCALE_CALLS
            reset_to(conn, schema, high[schema])
            return us
        return run

    variants = [(f"{schema}@{size}", variant(size, schema)) for size in SCALE_SIZES for schema in (PLPG, EXT)]
    samples = interleave(variants, ROUNDS)
    small, large = SCALE_SIZES[0], SCALE_SIZES[-1]
    out = {}
    for schema in (EXT, PLPG):
        out[schema] = {size: samples[f"{schema}@{size}"] for size in SCALE_SIZES}
    for size in SCALE_SIZES[1:]:
        r = ratio(samples, f"{EXT}@{size}", f"{EXT}@{small}")
        if size == large:
            target(f"one create at {size:,} batches / at {small:,} (extension)", *r, 1.1)
        out.setdefault("ext_growth", {})[size] = r
    RESULTS["scale"] = {"sizes": SCALE_SIZES, "calls_per_sample": SCALE_CALLS, "jobs_per_create": 2,
                        "unit": "µs per call", "samples": out}


# ---------------------------------------------------------------- active


def step_active():
    size = SCALE_SIZES[-1]
    if size not in SCALE:
        scale_database(size)
    conn, _ = SCALE[size]
    config = 999999
    calls = {EXT: "irp_ext.irp_get_active_batches_for_config", PLPG: "irp_plpgsql.get_active_batches_for_config"}
    for schema, create in ((EXT, "irp_ext.irp_create_batch"), (PLPG, "irp_plpgsql.create_batch")):
        conn.execute(f"SELECT {create}('EDM_CREATION', {config}, 3, false, '[{{\"a\": 1}}, {{\"a\": 2}}, {{\"a\": 3}}]')")
        conn.execute(f"SELECT {create}('PORTFOLIO_CREATION', {config}, 3, false, '[{{\"a\": 1}}, {{\"a\": 2}}]')")
        conn.execute(f"SELECT {create}('EDM_CREATION', {config}, 3, true)")
    conn.execute(f"ANALYZE {EXT}.irp_batch, {PLPG}.irp_batch")

    # 2.1 reads idx_batch_active itself (no query, so no plan to log): each
    # call must be exactly one scan of that index, as pg_stat_user_indexes
    # counts them (the statistics are read in a new transaction each time).
    scans = {}
    for case, args in (("config", f"{config}"), ("config_type", f"{config}, 'EDM_CREATION'")):
        with connect(conn.info.dbname) as c:
            c.execute("SET stats_fetch_consistency = none")
            count = ("SELECT idx_scan FROM pg_stat_user_indexes"
                     f" WHERE schemaname = '{EXT}' AND indexrelname = 'idx_batch_active'")
            c.execute("SELECT pg_stat_force_next_flush()")
            before = c.execute(count).fetchone()[0]
            rows = 0
            for _ in range(10):
                rows = len(c.execute(f"SELECT * FROM {calls[EXT]}({args})").fetchall())
            c.execute("SELECT pg_stat_force_next_flush()")
            c.commit()
            c.execute("SELECT pg_stat_clear_snapshot()")
            after = c.execute(count).fetchone()[0]
            scans[case] = {"calls": 10, "index_scans": after - before, "rows": rows}
    RESULTS["active_scans"] = scans
    index_scan = all(v["index_scans"] == v["calls"] for v in scans.values())
    TARGETS.append({"target": f"irp_get_active_batches_for_config at {size:,} batches: one scan of idx_batch_active per call",
                    "ratio": None, "low": None, "high": None, "limit": None, "met": index_scan})

    query = ("SELECT count(*) INTO v FROM (SELECT b.id, b.batch_type::text, b.status, b.created_ts,"
             " (SELECT count(*) FROM irp_ext.irp_job j WHERE j.batch_id = b.id), b.duplicate_of"
             " FROM irp_ext.irp_batch b WHERE b.configuration_id = {config}{extra}"
             " AND b.status IN ('INITIATED', 'ACTIVE') ORDER BY b.created_ts DESC, b.id DESC) q;")
    out = {}
    for case, args, extra in (("config", f"{config}", ""),
                              ("config_type", f"{config}, 'EDM_CREATION'", " AND b.batch_type = 'EDM_CREATION'")):
        def variant(who, args=args, extra=extra):
            def run(r):
                if who == "query":
                    stmt = query.format(config=config, extra=extra)
                else:
                    stmt = f"SELECT count(*) INTO v FROM {calls[who]}({args});"
                return timed(conn, f"FOR i IN 1..{ACTIVE_CALLS} LOOP {stmt} END LOOP;", "v bigint;") / ACTIVE_CALLS
            return run
        samples = interleave([(w, variant(w)) for w in ("query", PLPG, EXT)], ROUNDS)
        out[case] = {"samples": samples, "ext_vs_plpgsql": ratio(samples, EXT, PLPG),
                     "ext_vs_query": ratio(samples, EXT, "query")}
        target(f"irp_get_active_batches_for_config ({case}) at {size:,} batches: extension / plain query",
               *out[case]["ext_vs_query"], 1.5)
    RESULTS["active"] = {"size": size, "calls_per_sample": ACTIVE_CALLS, "unit": "µs per call", "by_case": out}


# ---------------------------------------------------------------- cancel


def step_cancel():
    create_database("irp_cancel", [EXT, PLPG, BARE])
    conn = connect("irp_cancel")

    def cancel_stmt(schema, batch):
        if schema == EXT:
            return f"PERFORM irp_ext.irp_cancel_batch({batch}, 'benchmark');"
        if schema == PLPG:
            return f"PERFORM irp_plpgsql.cancel_batch({batch}, 'benchmark');"
        return (f"UPDATE {schema}.irp_job SET status = 'CANCELLED', updated_ts = now(), completed_ts = now()"
                f" WHERE batch_id = {batch} AND status NOT IN ('FINISHED', 'FAILED', 'CANCELLED');"
                f" UPDATE {schema}.irp_batch SET status = 'CANCELLED', cancel_reason = 'benchmark',"
                f" completed_ts = now(), updated_ts = now()"
                f" WHERE id = {batch} AND status IN ('INITIATED', 'ACTIVE');")

    def load_history(schema):
        """The history every sample starts from: finished batches with finished jobs, loaded
        with triggers off, so that irp_job is not a toy table (plans differ on tiny tables)."""
        batches, jobs = CANCEL_HISTORY
        conn.execute("SET session_replication_role = replica")
        conn.execute(f"INSERT INTO {schema}.irp_batch (step_id, configuration_id, batch_type, status, completed_ts)"
                     f" SELECT 1, b, 'HISTORY', 'COMPLETED', now() FROM generate_series(1, {batches}) b")
        conn.execute(f"INSERT INTO {schema}.irp_job (batch_id, status, completed_ts)"
                     f" SELECT b, 'FINISHED', now() FROM generate_series(1, {batches}) b, generate_series(1, {jobs}) j"
                     f" ORDER BY b, j")
        if schema != BARE:
            conn.execute(f"INSERT INTO {schema}.irp_batch_event (batch_id, event, actor, details)"
                         f" SELECT id, 'CREATED', current_user, jsonb_build_object('status', 'INITIATED')"
                         f" FROM {schema}.irp_batch ORDER BY id")
        conn.execute("RESET session_replication_role")
        return {t: conn.execute(f"SELECT coalesce(max(id), 0) FROM {schema}.{t}").fetchone()[0]
                for t in (("irp_batch", "irp_job") + (("irp_batch_event",) if schema != BARE else ()))}

    history = {schema: load_history(schema) for schema in (BARE, PLPG, EXT)}

    def prepare(schema, jobs, batches):
        """Back to the history, then `batches` active batches with `jobs` jobs each (70% INITIATED,
        10% SUBMITTED, 10% RUNNING, 10% FINISHED) and one more with 3 jobs, cancelled untimed to
        warm the plan caches. Returns the first batch's id."""
        high = history[schema]
        tables = ", ".join(f"{schema}.{t}" for t in high)
        conn.execute("SET session_replication_role = replica")
        for t in reversed(list(high)):
            conn.execute(f"DELETE FROM {schema}.{t} WHERE id > {high[t]}")
        conn.execute("RESET session_replication_role")
        conn.execute(f"VACUUM {tables}")
        first = conn.execute(
            f"INSERT INTO {schema}.irp_batch (step_id, configuration_id, batch_type, status)"
            f" SELECT 1, b, 'CANCEL', 'ACTIVE' FROM generate_series(1, {batches + 1}) b RETURNING id"
        ).fetchall()[0][0]
        conn.execute(f"INSERT INTO {schema}.irp_job (batch_id, status, job_configuration_data)"
                     f" SELECT {first} - 1 + b, CASE j % 10 WHEN 7 THEN 'SUBMITTED' WHEN 8 THEN 'RUNNING'"
                     f" WHEN 9 THEN 'FINISHED' ELSE 'INITIATED' END::{schema}.job_status_enum,"
                     f" jsonb_build_object('n', j)"
                     f" FROM generate_series(1, {batches}) b, generate_series(1, {jobs}) j ORDER BY b, j")
        conn.execute(f"INSERT INTO {schema}.irp_job (batch_id) SELECT {first + batches} FROM generate_series(1, 3)")
        conn.execute(f"VACUUM (ANALYZE) {tables}")
        conn.execute("DO $$BEGIN " + cancel_stmt(schema, first + batches) + " END$$")
        return first

    out = {}
    last_first = {}
    for jobs, batches in CANCEL_JOBS:
        def variant(schema, jobs=jobs, batches=batches):
            def run(r):
                first = last_first[schema] = prepare(schema, jobs, batches)
                return timed(conn, f"FOR b IN {first}..{first + batches - 1} LOOP"
                                   f" {cancel_stmt(schema, 'b')} END LOOP;") / batches
            return run
        samples = interleave([(s, variant(s)) for s in (BARE, PLPG, EXT)], CANCEL_ROUNDS)
        # What the last samples did: every unfinished job cancelled, one CANCELLED event per batch.
        for schema in (EXT, PLPG):
            left, events = conn.execute(
                f"SELECT (SELECT count(*) FROM {schema}.irp_job WHERE batch_id >= {last_first[schema]}"
                f" AND batch_id < {last_first[schema] + batches} AND status NOT IN ('FINISHED', 'CANCELLED')),"
                f" (SELECT count(*) FROM {schema}.irp_batch_event WHERE event = 'CANCELLED'"
                f" AND (details->>'jobs_cancelled')::int = {jobs - jobs // 10})").fetchone()
            if left != 0 or events != batches:
                raise AssertionError(f"{schema}: {left} jobs left uncancelled, {events} CANCELLED events")
        r = ratio(samples, EXT, BARE)
        target(f"irp_cancel_batch, {jobs:,} jobs: extension / two bare UPDATEs", *r, 1.3)
        out[jobs] = {"batches_per_sample": batches, "samples": samples, "ext_vs_bare": r,
                     "ext_vs_plpgsql": ratio(samples, EXT, PLPG)}
    conn.close()
    RESULTS["cancel"] = {"unit": "µs per call", "by_jobs": out}


# ---------------------------------------------------------------- report


def machine():
    def first(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"
    with connect("postgres") as c:
        version = c.execute("SELECT version()").fetchone()[0]
        settings = dict(c.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN"
            " ('shared_buffers', 'fsync', 'synchronous_commit', 'full_page_writes', 'autovacuum',"
            " 'max_wal_size', 'jit')").fetchall())
    try:
        commit = subprocess.run(["git", "-C", HERE, "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        commit = "?"
    mem_kb = first("/proc/meminfo", "MemTotal").split()[0]
    return {
        "nproc": os.cpu_count(),
        "cpu": first("/proc/cpuinfo", "model name"),
        "ram_gib": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb.isdigit() else "?",
        "os": f"{platform.system()} {platform.release()}",
        "postgres": version,
        "settings": settings,
        "commit": commit,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "smoke (tiny sizes, numbers meaningless)" if SMOKE else "full",
    }


def fmt(x, digits=1):
    if x is None or x != x:
        return "–"
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}f}"


def fmt_ratio(r):
    if not r:
        return "–"
    value, (low, high) = r
    return f"{value:.2f} ({low:.2f}–{high:.2f})"


def report(mach):
    md = []
    w = md.append
    w("# irp_batch benchmark results\n")
    w(f"Mode: **{mach['mode']}**. Run {mach['date']} at commit `{mach['commit']}`.\n")
    w(f"Machine: {mach['nproc']} CPUs (`nproc`), {mach['cpu']}, {mach['ram_gib']} GiB RAM, {mach['os']}; "
      f"{mach['postgres'].split(' on ')[0]}.\n")
    s = mach["settings"]
    w("Throwaway cluster started by `bench/run.sh`: "
      + ", ".join(f"`{k}={v}`" for k, v in sorted(s.items()))
      + ". Durability is off on purpose: the benchmark measures the CPU cost of the code paths, not the disk.\n")
    w("Method: every number but pgbench's is server time, measured inside the server: a `DO` block "
      "reads `clock_timestamp()` before and after the work (a loop of calls, or one `INSERT ... SELECT`), "
      "without the commit, so neither the network nor the client is in it. The variants of each comparison run "
      f"interleaved (A B C, C B A, ...) for {ROUNDS} rounds after a warm-up round that is discarded "
      f"(cancel: {CANCEL_ROUNDS} rounds; pgbench: {PGBENCH_ROUNDS} runs of {PGBENCH_SECONDS} s per variant "
      "after a 1 s warm-up run). Tables give medians; a ratio is the ratio of the medians, followed by the "
      "lowest and highest ratio of the samples of one round.\n")

    w("## Targets\n")
    w("| target | measured (per-round range) | limit | met |")
    w("| --- | --- | --- | --- |")
    for t in TARGETS:
        if t["ratio"] is None:
            w(f"| {t['target']} | {t.get('text', 'see below')} | {'bounded' if 'text' in t else 'yes'} | "
              f"{'yes' if t['met'] else '**no**'} |")
        else:
            w(f"| {t['target']} | {t['ratio']:.2f}× ({t['low']:.2f}–{t['high']:.2f}) | "
              f"{'≥' if t.get('at_least') else '≤'} {t['limit']}× | "
              f"{'yes' if t['met'] else '**no**'} |")
    failed = [name for name, ok in STEPS if not ok]
    if failed:
        w(f"\n**Steps that failed (no numbers):** {', '.join(failed)}.\n")
    w("")

    if "insert" in RESULTS:
        d = RESULTS["insert"]
        sm = d["samples"]
        w(f"## Insert path: one `INSERT ... SELECT` of {d['rows_per_statement']:,} rows with distinct keys "
          "into `irp_batch` (µs per row)\n")
        w("| no guard | bare unique index | PL/pgSQL baseline | extension | extension / baseline | extension / bare |")
        w("| --- | --- | --- | --- | --- | --- |")
        w(f"| {fmt(median(sm[NOGUARD]), 2)} | {fmt(median(sm[BARE]), 2)} | {fmt(median(sm[PLPG]), 2)} | "
          f"{fmt(median(sm[EXT]), 2)} | {fmt_ratio(d['ext_vs_plpgsql'])} | {fmt_ratio(d['ext_vs_bare'])} |")
        if TABLE_ALONE in sm:
            w(f"\nThe extension's table alone, with its indexes and no trigger (`session_replication_role = "
              f"replica`): {fmt(median(sm[TABLE_ALONE]), 2)} µs per row, "
              f"{fmt_ratio(d['table_alone_vs_bare'])} the bare unique index.")
        w("\n*no guard*: the table without any partial index or trigger; *bare unique index*: only "
          "`idx_batch_unique_active` (no trigger, no audit row); the baseline and the extension also write "
          "one audit row per batch.\n")

    if "create" in RESULTS:
        d = RESULTS["create"]
        w(f"## `irp_create_batch`: {d['calls_per_sample']:,} calls per sample, distinct keys (µs per call)\n")
        w("| jobs | bare INSERTs | PL/pgSQL `create_batch` | `irp_create_batch` | extension / baseline | extension / bare |")
        w("| --- | --- | --- | --- | --- | --- |")
        for k, e in d["by_jobs"].items():
            sm = e["samples"]
            w(f"| {k} | {fmt(median(sm[BARE]))} | {fmt(median(sm[PLPG]))} | {fmt(median(sm[EXT]))} | "
              f"{fmt_ratio(e['ext_vs_plpgsql'])} | {fmt_ratio(e['ext_vs_bare'])} |")
        w("\n*bare INSERTs*: `INSERT INTO irp_batch ... RETURNING id` and, with jobs, one `INSERT INTO irp_job "
          "... SELECT FROM jsonb_array_elements(...)`, on the table with only the unique index.\n")

    if "pgbench" in RESULTS:
        d = RESULTS["pgbench"]
        w(f"## pgbench: one create (no jobs) per transaction, `-M prepared`, {d['seconds']} s per run "
          "(transactions per second)\n")
        w("| clients | bare INSERT | PL/pgSQL `create_batch` | `irp_create_batch` | time per transaction, extension / baseline | extension / bare |")
        w("| --- | --- | --- | --- | --- | --- |")
        for clients, e in d["by_clients"].items():
            sm = e["samples"]
            w(f"| {clients} | {fmt(median(sm[BARE]))} | {fmt(median(sm[PLPG]))} | {fmt(median(sm[EXT]))} | "
              f"{fmt_ratio(e['ext_vs_plpgsql'])} | {fmt_ratio(e['ext_vs_bare'])} |")
        w("\nClient-side numbers (pgbench's own), round trip and commit included; the machine has "
          f"{mach['nproc']} CPUs for the server and pgbench together.\n")

    if "scale" in RESULTS:
        d = RESULTS["scale"]
        w("## One create (2 jobs) with many batches already in the table (µs per call)\n")
        w("| batches in the table | PL/pgSQL `create_batch` | `irp_create_batch` | extension / extension at the smallest size |")
        w("| --- | --- | --- | --- |")
        for size in d["sizes"]:
            growth = d["samples"].get("ext_growth", {}).get(size)
            w(f"| {size:,} | {fmt(median(d['samples'][PLPG][size]))} | {fmt(median(d['samples'][EXT][size]))} | "
              f"{fmt_ratio(growth) if growth else '1'} |")
        w(f"\nEach table holds that many batches (98% finished, every key distinct), 3 jobs for every tenth "
          f"batch and one audit row per batch, loaded with triggers off and vacuumed. A sample is "
          f"{d['calls_per_sample']} creates on keys that have finished batches; what it added is deleted "
          "and vacuumed away before the next sample.\n")

    if "cancel" in RESULTS:
        d = RESULTS["cancel"]
        w("## `irp_cancel_batch` vs. the two bare `UPDATE`s (µs per call)\n")
        w("| jobs in the batch | two bare UPDATEs | PL/pgSQL `cancel_batch` | `irp_cancel_batch` | extension / bare | extension / baseline |")
        w("| --- | --- | --- | --- | --- | --- |")
        for jobs, e in d["by_jobs"].items():
            sm = e["samples"]
            w(f"| {jobs:,} | {fmt(median(sm[BARE]))} | {fmt(median(sm[PLPG]))} | {fmt(median(sm[EXT]))} | "
              f"{fmt_ratio(e['ext_vs_bare'])} | {fmt_ratio(e['ext_vs_plpgsql'])} |")
        w("\nJobs: 70% INITIATED, 10% SUBMITTED, 10% RUNNING, 10% FINISHED. The bare UPDATEs (on the table with "
          "only the unique index) cancel the unfinished jobs, then the batch; they write no audit row and "
          f"collect no ids. Every sample starts from the same vacuumed tables: {CANCEL_HISTORY[0]:,} finished "
          f"batches with {CANCEL_HISTORY[1]:,} finished jobs each, plus the batches to cancel; a warm-up "
          "cancel (untimed) first.\n")

    if "active" in RESULTS:
        d = RESULTS["active"]
        w(f"## `irp_get_active_batches_for_config` at {d['size']:,} batches (µs per call)\n")
        w("| arguments | plain query | PL/pgSQL | extension | extension / baseline | extension / plain query |")
        w("| --- | --- | --- | --- | --- | --- |")
        for case, e in d["by_case"].items():
            sm = e["samples"]
            label = "configuration_id" if case == "config" else "configuration_id, batch_type"
            w(f"| {label} | {fmt(median(sm['query']))} | {fmt(median(sm[PLPG]))} | {fmt(median(sm[EXT]))} | "
              f"{fmt_ratio(e['ext_vs_plpgsql'])} | {fmt_ratio(e['ext_vs_query'])} |")
        w("\nThe configuration has 3 active batches (one an intentional duplicate) with 5 jobs. "
          "The extension reads `idx_batch_active` and `idx_job_batch_id` itself (2.1), without a query; "
          "`pg_stat_user_indexes` counted its scans of `idx_batch_active`:\n")
        for case, v in RESULTS.get("active_scans", {}).items():
            w(f"- `{case}`: {v['calls']} calls, {v['index_scans']} scans, {v['rows']} rows per call")
        w("")

    if "memory" in RESULTS:
        m = RESULTS["memory"]["by_rows"]
        w("## Backend memory of one large `INSERT ... SELECT` into `irp_batch` (peak growth, MiB)\n")
        w("| rows | bare unique index | extension, notify off | extension, notify on | off − bare | on − bare, per row |")
        w("| --- | --- | --- | --- | --- | --- |")
        for rows, v in sorted(m.items(), key=lambda kv: int(kv[0])):
            bare = v[BARE]["peak_growth_kib"] / 1024
            off, on = v["ext_notify_off"]["peak_growth_kib"] / 1024, v["ext_notify_on"]["peak_growth_kib"] / 1024
            w(f"| {int(rows):,} | {bare:.1f} | {off:.1f} | {on:.1f} | {off - bare:.1f} | "
              f"{(on - bare) * 1024 * 1024 / int(rows):.0f} bytes |")
        w("\nThe growth of the backend's private resident memory (`RssAnon` in `/proc/PID/status`, sampled "
          "every 2 ms; shared buffers are not in it) from before the statement to its peak, commit included, "
          "in a fresh backend per statement. Both tables have the foreign key `duplicate_of`, whose check "
          "PostgreSQL queues as one after-trigger event per row; transition tables spill to disk beyond "
          "`work_mem`. With `irp_batch.notify` on, every event's message is kept until commit, when "
          "PostgreSQL takes it into its own list of the transaction's notifications, as it does for any "
          "`NOTIFY`: that memory grows with the events.\n")

    if "notify" in RESULTS:
        d = RESULTS["notify"]
        w("## Notifications: `irp_batch.notify` on (the default) and off\n")
        w("| workload | notify on | notify off | on / off |")
        w("| --- | --- | --- | --- |")
        for case, e in d["by_case"].items():
            label = (f"insert path, {d['rows_per_statement']:,} rows (µs per row)" if case == "insert" else
                     f"`irp_create_batch`, {case.removeprefix('create_')} jobs, {d['calls_per_sample']:,} calls "
                     "in one transaction (µs per call)")
            sm = e["samples"]
            w(f"| {label} | {fmt(median(sm['notify on']), 2)} | {fmt(median(sm['notify off']), 2)} | "
              f"{fmt_ratio(e['on_vs_off'])} |")
        w("\nClient time of each autocommit statement, commit included (the messages enter PostgreSQL's "
          "NOTIFY queue at commit), with no session listening. The other tables' numbers are server time "
          "without the commit, with notifications on.\n")

    if "check" in RESULTS:
        c = RESULTS["check"]
        w(f"## Baseline check\n\nThe baseline and the extension ran the same {c['statements']} statements "
          "(creates, duplicates, cancels, direct INSERT/UPDATE/DELETE/TRUNCATE, bad arguments); results, "
          "SQLSTATEs, messages, details, constraint and table names and the audit rows "
          f"{'agreed' if not c['differences'] else 'differed in ' + str(len(c['differences'])) + ' statements'}.\n")

    w("![chart](chart.svg)\n")
    w("Reproduce: `make bench` (or `bash bench/run.sh` with the extension installed); "
      "`BENCH_SMOKE=1` for the smoke run. See bench/README.md.")
    return "\n".join(md) + "\n"


def chart(path):
    """Six panels of medians, drawn by gnuplot (Debian's gnuplot-nox); one colour per variant."""
    colour = {"no guard": "#bbbbbb", "unique index": "#777777", "bare": "#777777",
              "plain query": "#777777", "PL/pgSQL": "#e08a2c", "extension": "#2c6fb4"}
    blocks, plots = [], []

    def panel(name, title, ylabel, header, rows, logscale=False):
        lines = [" ".join(f'"{h}"' for h in header)]
        for label, values in rows:
            lines.append(f'"{label}" ' + " ".join("?" if v is None or v != v else f"{v:.4g}" for v in values))
        blocks.append(f"${name} << EOD\n" + "\n".join(lines) + "\nEOD\n")
        using = []
        for i, h in enumerate(header[1:]):
            rgb = next((c for k, c in colour.items() if h.startswith(k)), "#444444")
            using.append((f"${name} using 2:xtic(1)" if i == 0 else f"'' using {i + 2}")
                         + f" title columnheader({i + 2}) lc rgb '{rgb}'")
        known = [v for _, values in rows for v in values if v is not None and v == v and v > 0] or [1]
        yrange = (f"[{min(known) / 2:.4g}:{max(known) * 2:.4g}]" if logscale else f"[0:{max(known) * 1.2:.4g}]")
        plots.append(f"set title '{title}'\nset ylabel '{ylabel}'\n"
                     + ("set logscale y\nset format y '%.0f'\n" if logscale else "unset logscale y\nset format y '% h'\n")
                     + f"set yrange {yrange}\nplot {', '.join(using)}\n")

    def med(sm, key):
        return median(sm[key]) if key in sm else None

    if "insert" in RESULTS:
        sm = RESULTS["insert"]["samples"]
        panel("ins", f"INSERT ... SELECT of {RESULTS['insert']['rows_per_statement']:,} rows into irp_batch",
              "µs per row", ["", "no guard", "unique index only", "PL/pgSQL", "extension"],
              [("", [med(sm, s) for s in (NOGUARD, BARE, PLPG, EXT)])])
    if "create" in RESULTS:
        panel("cre", "irp_create_batch", "µs per call", ["jobs", "bare INSERTs", "PL/pgSQL", "extension"],
              [(f"{k} jobs", [med(e["samples"], s) for s in (BARE, PLPG, EXT)])
               for k, e in RESULTS["create"]["by_jobs"].items()])
    if "pgbench" in RESULTS:
        panel("pgb", "pgbench, one create per transaction", "transactions/s",
              ["clients", "bare INSERT", "PL/pgSQL", "extension"],
              [(f"{c} client{'s' if c > 1 else ''}", [med(e["samples"], s) for s in (BARE, PLPG, EXT)])
               for c, e in RESULTS["pgbench"]["by_clients"].items()])
    if "scale" in RESULTS:
        d = RESULTS["scale"]
        panel("sca", "one create (2 jobs) vs. batches in the table", "µs per call", ["size", "PL/pgSQL", "extension"],
              [(f"{size:,} batches", [median(d["samples"][PLPG][size]), median(d["samples"][EXT][size])])
               for size in d["sizes"]])
    if "cancel" in RESULTS:
        panel("can", "irp_cancel_batch", "µs per call (log scale)", ["jobs", "bare UPDATEs", "PL/pgSQL", "extension"],
              [(f"{j:,} jobs", [med(e["samples"], s) for s in (BARE, PLPG, EXT)])
               for j, e in RESULTS["cancel"]["by_jobs"].items()], logscale=True)
    if "active" in RESULTS:
        panel("act", f"irp_get_active_batches_for_config, {RESULTS['active']['size']:,} batches", "µs per call",
              ["args", "plain query", "PL/pgSQL", "extension"],
              [("configuration_id" if c == "config" else "configuration_id, batch_type",
                [med(e["samples"], s) for s in ("query", PLPG, EXT)])
               for c, e in RESULTS["active"]["by_case"].items()])
    if not plots:
        return
    terminal = ("pngcairo noenhanced size 1200,1300 font 'sans,10'" if path.endswith(".png")
                else "svg noenhanced size 1200,1300 dynamic font 'sans,11' background '#ffffff'")
    script = (f"set terminal {terminal}\n"
              f"set output '{path}'\n"
              "set datafile missing '?'\n"
              "set style data histograms\nset style histogram clustered gap 1\n"
              "set style fill solid 0.9 border -1\nset boxwidth 0.9\n"
              "set key top left\nset grid ytics\n"
              + "".join(blocks)
              + f"set multiplot layout 3,2 title 'irp_batch benchmark: medians ({'smoke run' if SMOKE else 'full run'})'\n"
              + "".join(plots)
              + "unset multiplot\n")
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


# ---------------------------------------------------------------- memory


def rss_anon_kib(pid):
    """The backend's private (anonymous) resident memory, from /proc: shared buffers are not in it."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise RuntimeError(f"no RssAnon for process {pid}")


def peak_during(pid, work):
    """Runs work() while sampling the backend's RssAnon every 2 ms; returns (peak growth in KiB, seconds)."""
    base = rss_anon_kib(pid)
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                peak[0] = max(peak[0], rss_anon_kib(pid))
            except OSError:
                return
            done.wait(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.time()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    peak[0] = max(peak[0], rss_anon_kib(pid))
    return peak[0] - base, time.time() - t0


def step_memory():
    """Peak backend memory of one INSERT ... SELECT of many rows: the bare table vs. the extension,
    with irp_batch.notify off and on (each event's message is kept until commit, as NOTIFY does)."""
    ensure_database("irp_bench", [EXT, PLPG, BARE, NOGUARD])
    out = {}
    for rows in MEMORY_ROWS:
        for variant, schema, notify in ((BARE, BARE, "off"), ("ext_notify_off", EXT, "off"),
                                        ("ext_notify_on", EXT, "on")):
            conn = connect("irp_bench")   # a fresh backend: its memory is this statement's alone
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            conn.execute(f"SET irp_batch.notify = {notify}")
            conn.execute("SELECT 1 FROM pg_catalog.pg_class LIMIT 1")   # caches warm
            growth, seconds = peak_during(pid, lambda: conn.execute(
                f"INSERT INTO {schema}.irp_batch (step_id, configuration_id, batch_type)"
                f" SELECT 1, 10000000 + g, 'MEMORY' FROM generate_series(1, {rows}) g"))
            conn.execute("SET session_replication_role = replica")
            conn.execute(f"DELETE FROM {schema}.irp_batch WHERE batch_type = 'MEMORY'")
            if schema == EXT:
                conn.execute(f"DELETE FROM {schema}.irp_batch_event WHERE details->>'batch_type' = 'MEMORY'")
            conn.execute("RESET session_replication_role")
            conn.execute(f"VACUUM {schema}.irp_batch, {schema}.irp_batch_event" if schema == EXT
                         else f"VACUUM {schema}.irp_batch")
            conn.close()
            out.setdefault(rows, {})[variant] = {"peak_growth_kib": growth, "seconds": seconds}
            log(f"memory: {rows:,} rows, {variant}: peak +{growth / 1024:.1f} MiB in {seconds:.1f} s")
    RESULTS["memory"] = {"rows": MEMORY_ROWS, "by_rows": out}
    small, large = min(MEMORY_ROWS), max(MEMORY_ROWS)
    extra = {n: (out[n]["ext_notify_off"]["peak_growth_kib"] - out[n][BARE]["peak_growth_kib"]) for n in (small, large)}
    # Bounded: the extension's memory beyond the bare table's does not grow with the rows (within 2 MiB).
    TARGETS.append({"target": f"memory of one INSERT ... SELECT, extension (notify off) − bare: {small:,} vs. {large:,} rows",
                    "ratio": None, "low": None, "high": None, "limit": None,
                    "met": extra[large] <= extra[small] + 2048, "text": f"+{extra[small] / 1024:.1f} / +{extra[large] / 1024:.1f} MiB"})


# ---------------------------------------------------------------- main


def main():
    os.makedirs(OUT, exist_ok=True)
    log(f"benchmark ({'smoke' if SMOKE else 'full'}), results to {OUT}")
    steps = [("baseline check", step_check), ("insert path", step_insert), ("irp_create_batch", step_create),
             ("pgbench", step_pgbench), ("create vs. table size", step_scale),
             ("irp_get_active_batches_for_config", step_active), ("irp_cancel_batch", step_cancel),
             ("memory of a large INSERT", step_memory), ("notifications on and off", step_notify)]
    only = os.environ.get("BENCH_ONLY")
    for number, (name, fn) in enumerate(steps, 1):
        if only and fn.__name__.removeprefix("step_") not in only.split(","):
            continue
        t0 = time.time()
        log(f"{name} ...")
        try:
            fn()
            STEPS.append((name, True))
            print(f"ok {number} - {name} ({time.time() - t0:.0f} s)", flush=True)
        except Exception:
            traceback.print_exc()
            STEPS.append((name, False))
            print(f"not ok {number} - {name}", flush=True)
    for conn, _ in SCALE.values():
        conn.close()

    mach = machine()
    RESULTS["machine"] = mach
    RESULTS["targets"] = TARGETS
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(report(mach))
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(RESULTS, f, indent=1, default=str)
    try:
        chart(os.path.join(OUT, "chart.svg"))
        if os.environ.get("BENCH_PNG"):
            chart(os.path.join(OUT, "chart.png"))
    except Exception:
        traceback.print_exc()
        STEPS.append(("chart", False))
        print("not ok - chart", flush=True)
    for t in TARGETS:
        if t["ratio"] is None:
            log(f"target {'met ' if t['met'] else 'MISSED'}: {t['target']}")
        else:
            log(f"target {'met ' if t['met'] else 'MISSED'}: {t['target']}: {t['ratio']:.2f} "
                f"({'at least' if t.get('at_least') else 'limit'} {t['limit']})")
    failed = sum(1 for _, ok in STEPS if not ok)
    print(f"bench: {len(STEPS) - failed} steps ok, {failed} failed; results in {OUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
