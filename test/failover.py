#!/usr/bin/python3
"""Failover with the Python client's retries (issue 15, part 2).

For synchronous and then asynchronous replication, it starts its own two
clusters (initdb, pg_basebackup, pg_ctl; loopback only, free ports, in a
scratch folder), runs client threads that create batches for many keys with
irp_batch_client through a two-host conninfo (target_session_attrs=read-write),
stops the primary with `pg_ctl stop -m immediate` mid-run, promotes the
standby, lets the clients go on, and then checks on the new primary:

  - every create the client saw succeed is there, with its jobs and its one
    CREATED event (synchronous; asynchronous: the lost ones are counted, and
    must be ones the old primary acknowledged, which nothing retries);
  - every create in flight at the kill (begun on the old primary, answered
    by the new one after its retries: the client's connection factory
    records which server answered) exists at most once, exactly once if it
    returned a batch;
  - no key has two active non-duplicate batches;
  - no request_id appears twice, and every batch has one creation event;
  - no DuplicateBatchError named the request's own batch.

Needs the extension installed, psycopg (Debian's python3-psycopg) and the
PostgreSQL 15 binaries; runs as a non-root user (make test: postgres).
Prints TAP ("ok N - ...", "# " comments, "1..N"), exits non-zero on failure.

    /usr/bin/python3 test/failover.py [--seconds-before 1.5] [--seconds-after 2] [--clients 4]
"""
import argparse
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python"))
import irp_batch_client as irp  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "clients", "python", "tests"))
from faults import FaultProxy  # noqa: E402

BIN = "/usr/lib/postgresql/15/bin"
logging.getLogger("psycopg").setLevel(logging.ERROR)    # "error ignored in rollback" of a dead connection
TYPES = ["EDM_CREATION", "PORTFOLIO_CREATION"]
CONFIGS = 150                  # 300 keys: repeated keys meet the guard

n = 0
failures = 0


def tap(ok, description, diagnostic=None):
    global n, failures
    n += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {description}", flush=True)
    if not ok:
        failures += 1
        if diagnostic:
            for line in str(diagnostic).splitlines():
                print(f"#   {line}")


def comment(text):
    for line in str(text).splitlines():
        print(f"# {line}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, timeout=120):
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}")
    return result.stdout


class Node:
    def __init__(self, root, name):
        self.name = name
        self.data = os.path.join(root, name)
        self.port = free_port()
        self.socket_dir = root
        self.log = os.path.join(root, f"{name}.log")

    def conninfo(self, dbname="postgres"):
        return (f"host=127.0.0.1 port={self.port} dbname={dbname} connect_timeout=5"
                " options='-c statement_timeout=60s'")

    def configure(self, text):
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(text)

    def start(self):
        run(f"{BIN}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")

    def stop(self, mode="fast"):
        run(f"{BIN}/pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def sql(self, query, params=None):
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else None


def make_pair(root, synchronous, proxies):
    primary, standby = Node(root, "primary"), Node(root, "standby")
    run(f"{BIN}/initdb", "-D", primary.data, "-A", "trust", "--no-sync", "--encoding=UTF8", "--locale=C.UTF-8")
    common = (f"listen_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
              "fsync = off\nshared_buffers = 32MB\nmax_connections = 40\n"
              "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
              "wal_receiver_status_interval = 1s\nlog_min_messages = warning\n")
    primary.configure(common + f"port = {primary.port}\n")
    primary.start()
    primary.sql("CREATE EXTENSION irp_batch")
    run(f"{BIN}/pg_basebackup", "-D", standby.data, "-h", "127.0.0.1", "-p", str(primary.port),
        "-X", "stream", "--no-sync", "-c", "fast")
    # The standby streams through a proxy that can stop passing WAL on (pause()).
    wal = FaultProxy("127.0.0.1", primary.port)
    proxies.append(wal)
    standby.configure(f"port = {standby.port}\n"
                      f"primary_conninfo = 'host=127.0.0.1 port={wal.port} sslmode=disable gssencmode=disable"
                      " application_name=standby'\n")
    open(os.path.join(standby.data, "standby.signal"), "w").close()
    standby.start()
    if synchronous:      # only now: a commit would wait for a standby not there yet
        primary.sql("ALTER SYSTEM SET synchronous_standby_names = 'standby'")
        primary.sql("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 30
    want = "sync" if synchronous else "async"
    while time.monotonic() < deadline:
        rows = primary.sql("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'"
                           " AND state = 'streaming'")
        if rows and rows[0][0] == want:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError(f"the standby did not become a streaming {want} standby")
    return primary, standby, wal


class Request:
    """One create_batch call as the client saw it."""

    def __init__(self, key, jobs, request_id):
        self.key, self.jobs, self.request_id = key, jobs, request_id
        self.started = time.monotonic()
        self.ended = None
        self.batch_id = None          # what create_batch returned
        self.error = None             # or what it raised
        self.port = None              # the server of its last attempt: which one answered


# The port of the connection the client opened last, per thread: the
# connection factory below records it.
_last = threading.local()


def connection_factory(conninfo):
    def connect():
        conn = psycopg.connect(conninfo, autocommit=True, prepare_threshold=None)
        _last.port = conn.info.port
        return conn
    return connect


def workload(stop, requests, lock, seed):
    rnd = random.Random(seed)
    while not stop.is_set():
        key = (rnd.randint(1, CONFIGS), rnd.choice(TYPES))
        jobs = [{"n": i, "seed": seed} for i in range(rnd.randint(0, 4))]
        request = Request(key, jobs, irp._request_id(None))
        with lock:
            requests.append(request)
        _last.port = None
        try:
            request.batch_id = irp.create_batch(key[1], key[0], 3, jobs=jobs, request_id=request.request_id)
        except irp.BatchError as e:
            request.error = e
        request.port = _last.port
        request.ended = time.monotonic()


def scenario(synchronous, args):
    mode = "synchronous" if synchronous else "asynchronous"
    comment(f"{mode} replication")
    root = tempfile.mkdtemp(prefix="irp_failover_")
    primary = standby = None
    proxies = []
    try:
        primary, standby, wal = make_pair(root, synchronous, proxies)
        irp.configure(factory=connection_factory(
            f"host=127.0.0.1,127.0.0.1 port={primary.port},{standby.port} dbname=postgres"
            " target_session_attrs=read-write connect_timeout=5 options='-c statement_timeout=60s'"),
            attempts=args.attempts, backoff=0.05)
        stop, lock, requests = threading.Event(), threading.Lock(), []
        workers = [threading.Thread(target=workload, args=(stop, requests, lock, i)) for i in range(args.clients)]
        for w in workers:
            w.start()
        time.sleep(args.seconds_before)
        # The standby stops receiving WAL a moment before the primary dies:
        # synchronous, the commits of that moment wait (in flight at the kill);
        # asynchronous, they are acknowledged and then lost.
        wal.pause()
        time.sleep(args.seconds_paused)
        killed = time.monotonic()
        primary.stop("immediate")
        run(f"{BIN}/pg_ctl", "-D", standby.data, "-w", "-t", "60", "promote")
        promoted = time.monotonic()
        time.sleep(args.seconds_after)
        stop.set()
        for w in workers:
            w.join(120)
        tap(not any(w.is_alive() for w in workers), f"{mode}: the clients finished")
        check(mode, synchronous, primary.port, standby, requests, killed, promoted)
    finally:
        irp.configure()
        for proxy in proxies:
            proxy.close()
        for node in (primary, standby):
            if node is not None:
                try:
                    node.stop("immediate")
                except (RuntimeError, subprocess.TimeoutExpired):
                    pass
        shutil.rmtree(root, ignore_errors=True)


def check(mode, synchronous, old_port, new_primary, requests, killed, promoted):
    done = [r for r in requests if r.ended is not None]
    # Which server answered a call is known exactly (the port of its last
    # connection); the clock only says which calls began before the kill.
    before = [r for r in done if r.port == old_port]
    after = [r for r in done if r.port == new_primary.port]
    in_flight = [r for r in after if r.started < killed]      # begun on the old primary, answered by the new
    succeeded = [r for r in done if r.batch_id is not None]
    other_errors = [r for r in done if r.error is not None and not isinstance(r.error, irp.DuplicateBatchError)]

    rows = new_primary.sql(
        "SELECT b.id, b.configuration_id, b.batch_type, b.request_id::text,"
        " (SELECT count(*) FROM irp_job j WHERE j.batch_id = b.id),"
        " (SELECT count(*) FROM irp_batch_event e WHERE e.batch_id = b.id AND e.event = 'CREATED'"
        "   AND e.details->>'request_id' = b.request_id::text),"
        " (SELECT count(*) FROM irp_batch_event e WHERE e.batch_id = b.id"
        "   AND e.event IN ('CREATED', 'DUPLICATE_CREATED'))"
        " FROM irp_batch b")
    by_request = {}
    for row in rows:
        by_request.setdefault(row[3], []).append(row)

    tap(len(before) > 20 and len(after) > 20 and len(before) + len(after) == len(done),
        f"{mode}: the clients created before and after the failover",
        f"{len(before)} calls answered by the old primary, {len(after)} by the new, of {len(done)}")
    tap(not other_errors, f"{mode}: every call succeeded or met the guard (the retries rode out the failover)",
        "\n".join(f"{r.key}: {type(r.error).__name__} {r.error.sqlstate} {r.error}" for r in other_errors[:5]))

    # Creates the client saw succeed.
    lost, wrong = [], []
    for r in succeeded:
        found = by_request.get(str(r.request_id), [])
        if not found:
            lost.append(r)
        elif [(b[0], b[1], b[2], b[4], b[5], b[6]) for b in found] != [(r.batch_id, r.key[0], r.key[1], len(r.jobs), 1, 1)]:
            wrong.append((r.key, r.batch_id, len(r.jobs), found))
    if synchronous:
        tap(not lost, f"{mode}: every create the client saw succeed is on the new primary",
            f"{len(lost)} missing, e.g. {[(r.key, r.batch_id) for r in lost[:5]]}")
    else:
        tap(lost != [], f"{mode}: creates the client saw succeed while the standby lagged are lost (the window)")
        tap(all(r.port == old_port for r in lost),
            f"{mode}: a create lost in the failover is one the old primary acknowledged (nothing retried it)",
            [(r.key, r.batch_id, r.port, r.ended - killed) for r in lost if r.port != old_port][:5])
    tap(not wrong, f"{mode}: each one that is there has its key, its jobs and one CREATED event with its request_id",
        wrong[:5])

    # Creates in flight at the kill.
    twice = [r for r in in_flight if len(by_request.get(str(r.request_id), [])) > 1]
    flight_ok = [r for r in in_flight if r.batch_id is not None]
    flight_missing = [r for r in flight_ok if str(r.request_id) not in by_request]
    tap(in_flight != [], f"{mode}: some creates were in flight at the kill (begun on the old primary, "
        "answered by the new)", f"{len(in_flight)}")
    tap(not twice and not flight_missing,
        f"{mode}: every create in flight at the kill that returned a batch exists exactly once on the new primary",
        f"twice: {[r.key for r in twice]}; missing: {[r.key for r in flight_missing]}")

    own = [r for r in done if isinstance(r.error, irp.DuplicateBatchError) and r.error.batch_id is not None
           and any(b[0] == r.error.batch_id for b in by_request.get(str(r.request_id), []))]
    tap(not own, f"{mode}: no DuplicateBatchError named the request's own batch",
        [(r.key, r.error.batch_id) for r in own[:5]])

    doubled_keys = new_primary.sql(
        "SELECT configuration_id, batch_type, count(*) FROM irp_batch"
        " WHERE status IN ('INITIATED', 'ACTIVE') AND duplicate_of IS NULL"
        " GROUP BY 1, 2 HAVING count(*) > 1")
    tap(doubled_keys == [], f"{mode}: no key has two active non-duplicate batches", doubled_keys)
    doubled_requests = new_primary.sql(
        "SELECT request_id, count(*) FROM irp_batch WHERE request_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1")
    tap(doubled_requests == [], f"{mode}: no request_id appears twice", doubled_requests)
    no_request = [b for b in rows if b[3] is None]
    tap(no_request == [] and all(b[6] == 1 for b in rows),
        f"{mode}: every batch has a request_id and exactly one creation event", (no_request[:5], [b for b in rows if b[6] != 1][:5]))
    still_fine = new_primary.sql("SELECT count(*) FROM irp_batch")[0][0]
    tap(still_fine == len(rows), f"{mode}: the new primary takes reads after the checks")

    comment(f"{mode}: {len(done)} calls ({len(before)} answered by the old primary, {len(after)} by the new, "
            f"{len(in_flight)} of those in flight at the kill), "
            f"{len(succeeded)} returned a batch, {sum(isinstance(r.error, irp.DuplicateBatchError) for r in done)} "
            f"met the guard; {len(rows)} batches on the new primary")
    comment(f"{mode}: {len(in_flight)} in flight at the kill: {len(flight_ok)} returned a batch after retrying, "
            f"{sum(1 for r in in_flight if str(r.request_id) in by_request)} exist once, none twice")
    ids = {b[0] for b in rows}
    reused = [r for r in lost if r.batch_id in ids]
    oldest = max((killed - r.ended for r in lost), default=0)
    comment(f"{mode}: {len(lost)} creates the client saw succeed are not on the new primary "
            f"(all acknowledged by the old primary, the earliest {oldest:.2f}s before the kill; "
            f"{len(reused)} of their ids belong to another batch there); promotion took {promoted - killed:.2f}s")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds-before", type=float, default=1.5)
    parser.add_argument("--seconds-after", type=float, default=2.0)
    parser.add_argument("--seconds-paused", type=float, default=0.5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--attempts", type=int, default=10)
    parser.add_argument("--only", choices=["sync", "async"])
    args = parser.parse_args()
    if os.geteuid() == 0:
        tap(False, "failover runs as a non-root user (initdb refuses root)")
    else:
        for synchronous in (True, False):
            if args.only and args.only != ("sync" if synchronous else "async"):
                continue
            try:
                scenario(synchronous, args)
            except Exception as e:  # noqa: BLE001 - reported as a failed test
                tap(False, f"{'synchronous' if synchronous else 'asynchronous'} scenario ran", repr(e))
    print(f"1..{n}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
