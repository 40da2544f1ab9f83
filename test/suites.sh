#!/usr/bin/env bash
# Runs every suite against the cluster pg_virtualenv started (PGHOST, PGPORT,
# PGUSER set). Each suite writes "passed failed" to counts/SUITE.
set -uo pipefail
mkdir -p counts
export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
status=0

# Stress: a few clients racing on a few keys, then the invariants (test/stress.py).
# make stress runs only this, for STRESS_SECONDS (default 300).
run_stress() {
  echo "== stress"
  /usr/bin/python3 test/stress.py --seconds "${1}" --clients "${STRESS_CLIENTS:-4}" \
    --keys "${STRESS_KEYS:-4}" 2>&1 | tee stress.log
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  echo "$(grep -cE '^ok [0-9]' stress.log) $(grep -cE '^not ok [0-9]' stress.log)" > counts/stress
}
# Outside load: pgbench's custom scripts (test/pgbench/) at each isolation
# level, then error counts by SQLSTATE, the invariants and amcheck
# (test/outside_load.py). make stress runs it for OUTSIDE_SECONDS per level
# (default 60).
run_outside_load() {
  echo "== outside load (pgbench)"
  /usr/bin/python3 test/outside_load.py --seconds "${1}" --clients "${OUTSIDE_CLIENTS:-8}" 2>&1 | tee outside_load.log
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  echo "$(grep -cE '^ok [0-9]' outside_load.log) $(grep -cE '^not ok [0-9]' outside_load.log)" > counts/outside_load
}
# Upsert race: upserts of one batch against transactions that lock, cancel
# and commit it (test/upsert_race.py), then the same with two batches of the
# key; each round for the seconds given (make test 15, make stress 60 or
# UPSERT_SECONDS).
run_upsert_race() {
  echo "== upsert race"
  /usr/bin/python3 test/upsert_race.py --seconds "${1}" 2>&1 | tee upsert_race.log
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  /usr/bin/python3 test/upsert_race.py --seconds "${1}" --two-batches 2>&1 | tee -a upsert_race.log
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  echo "$(grep -cE '^ok [0-9]' upsert_race.log) $(grep -cE '^not ok [0-9]' upsert_race.log)" > counts/upsert_race
}
if [ -n "${STRESS_ONLY:-}" ]; then
  run_stress "${STRESS_SECONDS:-300}"
  run_outside_load "${OUTSIDE_SECONDS:-60}"
  run_upsert_race "${UPSERT_SECONDS:-60}"
  exit $status
fi

# pg_regress: sql/*.sql against expected/*.out, one test per file.
echo "== pg_regress"
make -s installcheck ISOLATION= TAP_TESTS= PG_CONFIG="$PG_CONFIG" 2>&1 | tee regress.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
[ -f regression.diffs ] && cat regression.diffs
echo "$(grep -cE '^(ok|test) .* ok ' regress.log) $(grep -cE '(FAILED|failed \(ignored\))' regress.log)" > counts/regress

# Isolation tester: specs/*.spec against expected/*.out, one test per spec.
echo "== isolation"
make -s installcheck REGRESS= TAP_TESTS= PG_CONFIG="$PG_CONFIG" 2>&1 | tee isolation.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
[ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs
echo "$(grep -cE '^(ok|test) .* ok ' isolation.log) $(grep -cE '(FAILED|failed \(ignored\))' isolation.log)" > counts/isolation

# TAP: t/*.pl (PostgreSQL::Test::Cluster, each starts clusters of its own):
# crash recovery and a streaming standby. One test per assertion.
echo "== TAP"
make -s installcheck REGRESS= ISOLATION= TAP_TESTS=1 PROVE_FLAGS=-v PG_CONFIG="$PG_CONFIG" 2>&1 | tee tap.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' tap.log) $(grep -cE '^not ok [0-9]' tap.log)" > counts/tap

# pgTAP: test/*.sql with pg_prove, one test per assertion.
echo "== pgTAP"
psql -X -q -c 'CREATE DATABASE irp_batch_tap' || status=1
PGDATABASE=irp_batch_tap pg_prove -v test/*.sql 2>&1 | tee prove.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' prove.log) $(grep -cE '^not ok [0-9]' prove.log)" > counts/pgtap

# README's examples, run for real: the psql session and the Python example
# (psycopg from Debian's python3-psycopg).
echo "== README examples"
/usr/bin/python3 test/readme.py 2>&1 | tee readme.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' readme.log) $(grep -cE '^not ok [0-9]' readme.log)" > counts/readme

# Where each error was decided: its LOCATION names the extension's file and
# function that decided it, not the C++ boundary (test/error_origin.py).
echo "== error origins"
/usr/bin/python3 test/error_origin.py 2>&1 | tee error_origin.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' error_origin.log) $(grep -cE '^not ok [0-9]' error_origin.log)" > counts/error_origin

# Backups: pg_dump, then restore as docs/backups.md says.
echo "== backup and restore"
bash test/backup.sh 2>&1 | tee backup.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' backup.log) $(grep -cE '^not ok [0-9]' backup.log)" > counts/backup

# The Python client (clients/python) and the Step 03 notebook (examples/),
# run for real: pytest, then the notebook three times with nbconvert.
echo "== Python client and Step 03 notebook"
bash test/python_client.sh 2>&1 | tee python_client.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' python_client.log) $(grep -cE '^not ok [0-9]' python_client.log)" > counts/python_client

# The same, through pgbouncer in transaction pooling mode (test/pgbouncer.sh
# starts it on a free port in front of this cluster).
echo "== Python client through pgbouncer"
timeout 900 bash test/pgbouncer.sh 2>&1 | tee pgbouncer.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' pgbouncer.log) $(grep -cE '^not ok [0-9]' pgbouncer.log)" > counts/pgbouncer

# Failover: a primary and a synchronous, then an asynchronous, standby of its
# own (test/failover.py), the primary stopped immediately while the Python
# client creates batches with retries, the standby promoted.
echo "== failover"
timeout 600 /usr/bin/python3 test/failover.py 2>&1 | tee failover.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' failover.log) $(grep -cE '^not ok [0-9]' failover.log)" > counts/failover

# Scale-out: a PL/Proxy router and two shard databases (examples/plproxy).
echo "== PL/Proxy router and shards"
bash test/plproxy.sh 2>&1 | tee plproxy.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' plproxy.log) $(grep -cE '^not ok [0-9]' plproxy.log)" > counts/plproxy

# Stress, for a few seconds; the outside load, 3 seconds per isolation level;
# the upsert race, two rounds of 15 seconds.
run_stress 5
run_outside_load 3
run_upsert_race "${UPSERT_SECONDS:-15}"

exit $status
