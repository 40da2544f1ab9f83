#!/usr/bin/python3
"""bench/profile.py: where the extension's time goes, for one workload.

    bash bench/run.sh profile insert|create|active|cancel|cancel_big [seconds]

Run through bench/run.sh, which starts the throwaway cluster (here with
pg_stat_statements, tracking nested statements). Loads the workload's tables,
then runs it in one backend while `perf record -g` samples that backend, and
prints:

  - the server time of every statement the workload ran, nested SPI
    statements included (pg_stat_statements), per call of the workload;
  - perf's inclusive share of the extension's entry points and of the
    PostgreSQL functions they spend it in.

The perf data stays in BENCH_OUT/perf-WORKLOAD.data for `perf report -i`.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (the benchmark's helpers: databases, loading)

WORKLOADS = {
    # name: (calls per DO block, what one call is, the DO block's loop body)
    "insert": (1, "one INSERT ... SELECT of 3,000 rows",
               "INSERT INTO irp_ext.irp_batch (step_id, configuration_id, batch_type)"
               " SELECT 1, {n} * 3000 + g, 'PROFILE' FROM generate_series(1, 3000) g;"),
    "create": (1000, "one irp_create_batch, no jobs",
               "FOR i IN 1..1000 LOOP PERFORM irp_ext.irp_create_batch('PROFILE', {n} * 1000 + i, 3); END LOOP;"),
    "cancel": (500, "one irp_cancel_batch of a batch with 10 jobs",
               "FOR b IN {first} + {n} * 500 .. {first} + {n} * 500 + 499 LOOP"
               " PERFORM irp_ext.irp_cancel_batch(b, 'profile'); END LOOP;"),
    "active": (1000, "one irp_get_active_batches_for_config of a configuration with 3 active batches and 5 jobs",
               "FOR i IN 1..1000 LOOP PERFORM count(*) FROM irp_ext.irp_get_active_batches_for_config(42); END LOOP;"),
    "cancel_big": (1, "one irp_cancel_batch of a batch with 100,000 jobs",
                   "PERFORM irp_ext.irp_cancel_batch({first} + {n}, 'profile');"),
}

# Symbols whose inclusive share is worth printing (substrings of perf's names).
INTERESTING = [
    "irp_create_batch", "irp_cancel_batch", "irp_batch_guard", "irp_batch_audit", "irp_batch_event_guard",
    "claim_key", "AfterTriggerEndQuery", "ExecConstraints", "stringToNode", "ExecInsertIndexTuples",
    "heap_insert", "heap_update", "heap_lock_tuple", "jsonb_build_object", "jsonb_strip_nulls", "jsonb_agg",
    "ExecHashJoin", "SeqNext", "standard_ExecutorStart", "standard_ExecutorEnd", "GetCachedPlan",
    "tuplestore_puttupleslot", "SPI_connect", "SPI_finish", "irp_get_active_batches_for_config",
    "index_getnext_slot", "SPI_execute_plan", "ExecInitFunctionScan", "tuplestore_putvalues",
]


def load(conn, workload, calls):
    """Tables for `calls` runs of the workload (cancel: history plus the batches to cancel)."""
    if workload in ("insert", "create"):
        return 0
    if workload == "active":
        # 1,000 finished batches of other configurations, and configuration 42's
        # three active batches (one an intentional duplicate) with 5 jobs.
        conn.execute("SET session_replication_role = replica")
        conn.execute("INSERT INTO irp_ext.irp_batch (id, step_id, configuration_id, batch_type, status)"
                     " SELECT b, 1, b, 'HISTORY', 'COMPLETED' FROM generate_series(1000, 2000) b")
        conn.execute("RESET session_replication_role")
        conn.execute("SELECT irp_ext.irp_create_batch('EDM_CREATION', 42, 3, false, '[{\"a\": 1}, {\"a\": 2}, {\"a\": 3}]')")
        conn.execute("SELECT irp_ext.irp_create_batch('PORTFOLIO_CREATION', 42, 3, false, '[{\"a\": 1}, {\"a\": 2}]')")
        conn.execute("SELECT irp_ext.irp_create_batch('EDM_CREATION', 42, 3, true)")
        conn.execute("VACUUM (ANALYZE) irp_ext.irp_batch, irp_ext.irp_job")
        return 0
    per_batch, batches = (10, 500 * calls) if workload == "cancel" else (100000, calls)
    conn.execute("SET session_replication_role = replica")
    conn.execute("INSERT INTO irp_ext.irp_batch (id, step_id, configuration_id, batch_type, status)"
                 " SELECT b, 1, b, 'HISTORY', 'COMPLETED' FROM generate_series(1, 1000) b")
    conn.execute("INSERT INTO irp_ext.irp_job (batch_id, status) SELECT b, 'FINISHED'"
                 " FROM generate_series(1, 1000) b, generate_series(1, 100) j ORDER BY b, j")
    conn.execute(f"INSERT INTO irp_ext.irp_batch (id, step_id, configuration_id, batch_type, status)"
                 f" SELECT b, 1, b, 'PROFILE', 'ACTIVE' FROM generate_series(1001, {1000 + batches}) b")
    conn.execute(f"INSERT INTO irp_ext.irp_job (batch_id, status, job_configuration_data)"
                 f" SELECT b, CASE j % 10 WHEN 7 THEN 'SUBMITTED' WHEN 8 THEN 'RUNNING' WHEN 9 THEN 'FINISHED'"
                 f" ELSE 'INITIATED' END::irp_ext.job_status_enum, jsonb_build_object('n', j)"
                 f" FROM generate_series(1001, {1000 + batches}) b, generate_series(1, {per_batch}) j ORDER BY b, j")
    conn.execute("RESET session_replication_role")
    for table in ("irp_batch", "irp_job"):
        conn.execute(f"SELECT setval(pg_get_serial_sequence('irp_ext.{table}', 'id'), (SELECT max(id) FROM irp_ext.{table}))")
    conn.execute("VACUUM (ANALYZE) irp_ext.irp_batch, irp_ext.irp_job, irp_ext.irp_batch_event")
    return 1001


def main():
    workload = sys.argv[1] if len(sys.argv) > 1 else "create"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    if workload not in WORKLOADS:
        sys.exit(f"profile: workload is one of {', '.join(WORKLOADS)}")
    per_block, what, body = WORKLOADS[workload]
    blocks = {"insert": 400, "create": 200, "active": 400, "cancel": 60, "cancel_big": max(2, int(seconds))}[workload]
    out = os.environ.get("BENCH_OUT", os.path.join(HERE, "results"))
    os.makedirs(out, exist_ok=True)
    data = os.path.join(out, f"perf-{workload}.data")

    bench.create_database("irp_profile", [bench.EXT])
    conn = bench.connect("irp_profile")
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    first = load(conn, workload, blocks + 1)
    n = 0

    def block():
        nonlocal n
        conn.execute("DO $profile$BEGIN " + body.format(n=n, first=first) + " END$profile$")
        n += 1

    block()   # warm the plan caches
    conn.execute("SELECT pg_stat_statements_reset()")
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    perf = subprocess.Popen(["perf", "record", "-g", "-o", data, "-p", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    t0, ran = time.time(), 0
    while time.time() - t0 < seconds and n < blocks + 1:
        block()
        ran += 1
    elapsed = time.time() - t0
    perf.send_signal(2)
    perf.wait()
    calls = ran * per_block
    print(f"{workload}: {calls:,} x {what} in {elapsed:.1f} s ({elapsed / calls * 1e6:,.1f} µs each, client-side)\n")

    print("Server time per call, by statement (pg_stat_statements, nested statements included):")
    for us, count, query in conn.execute(
            "SELECT total_exec_time * 1000 / %s, calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 110)"
            " FROM pg_stat_statements WHERE query !~* 'pg_stat_statements|pg_backend_pid|^DO '"
            " ORDER BY total_exec_time DESC LIMIT 10", (calls,)).fetchall():
        print(f"  {us:10.1f} µs  {count:>8} calls  {query}")

    report = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "symbol", "--stdio",
                             "-g", "none"], capture_output=True, text=True).stdout
    print("\nperf, inclusive share of the backend's samples:")
    seen = set()
    for line in report.splitlines():
        if line.startswith("#") or "%" not in line:
            continue
        parts = line.split()
        symbol = " ".join(parts[3:]).removesuffix(" - -")
        for name in INTERESTING:
            if name in symbol and name not in seen:
                seen.add(name)
                print(f"  {parts[0]:>8}  {symbol[:120]}")
    print(f"\nperf data: {data} (perf report -i {data} --children)")
    conn.close()


if __name__ == "__main__":
    main()
