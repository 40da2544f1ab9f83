#!/usr/bin/env bash
# make test: builds irp_batch, runs the unit tests of its pure rules (no
# server needed), checks its packaging (the Debian package built,
# installed with apt-get, run and purged; META.json; make dist), installs it,
# then runs every suite against a throwaway PostgreSQL 15 cluster
# (pg_virtualenv -t: a temporary directory, no system configuration touched,
# removed afterwards). Ends with one line
# "N passed, M failed" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

fail_early() { echo "$1" >&2; echo "0 passed, 1 failed"; exit 1; }
make -s PG_CONFIG="$PG_CONFIG" || fail_early "build failed"

# The unit tests of the pure rules (test/unit/, doctest), which need no
# server. counts/unit gets the units that passed and failed, from the line
# "[unit] units: N | P passed | F failed" that test/unit/main.cpp prints after
# doctest's own summary: a unit is one row of a table (or a test case without
# rows), so a broken rule counts each row it breaks. A build that fails, or a
# run that ends without that line, counts 1 failure.
unit_log=$(mktemp /tmp/irp_batch_unit.XXXXXX.log)
if [ -z "${STRESS_ONLY:-}" ]; then
  echo "== unit tests (test/unit)"
  make -s unit PG_CONFIG="$PG_CONFIG" 2>&1 | tee "$unit_log"
  unit_status=${PIPESTATUS[0]}
fi

# Packaging (test/packaging.sh): META.json, make dist, make deb and lintian;
# then the .deb, installed with apt-get in place of make install, runs the
# extension in a throwaway cluster of its own and is purged, before
# make install below puts the same files in place for the other suites.
packaging_log=$(mktemp /tmp/irp_batch_packaging.XXXXXX.log)
if [ -z "${STRESS_ONLY:-}" ]; then
  echo "== packaging (Debian package, PGXN, make dist)"
  bash test/packaging.sh 2>&1 | tee "$packaging_log"
  packaging_status=${PIPESTATUS[0]}
fi
$sudo make -s install PG_CONFIG="$PG_CONFIG" >/dev/null || fail_early "install failed"

# The cluster is UTF-8 with the C.UTF-8 locale whatever the machine's locale,
# so that character counts and sort orders are the same everywhere.
# The suites run in a scratch copy of the test inputs, owned by the user that
# runs the cluster (as root: postgres, since initdb refuses root).
work=$(mktemp -d /tmp/irp_batch_test.XXXXXX)
trap 'rm -rf "$work" "$packaging_log" "$unit_log"' EXIT
cp -r Makefile README.md LICENSE irp_batch.control sql specs expected t test clients examples docs "$work"/
mkdir -p "$work/counts"
if [ -z "${STRESS_ONLY:-}" ]; then
  unit_counts=$(sed -nE 's/^\[unit\] units: [0-9]+ \| ([0-9]+) passed \| ([0-9]+) failed$/\1 \2/p' "$unit_log" | tail -n 1)
  read -r p q <<< "${unit_counts:-0 1}"
  [ "$unit_status" -eq 0 ] || [ "$q" -gt 0 ] || q=1
  echo "$p $q" > "$work/counts/unit"
fi
# The install scripts as built (extension/), before anything runs them.
echo "== install scripts"
bash test/install_scripts.sh | tee "$work/install_scripts.log"
echo "$(grep -cE '^ok [0-9]' "$work/install_scripts.log") $(grep -cE '^not ok [0-9]' "$work/install_scripts.log")" > "$work/counts/install_scripts"

runner=()
if [ "$(id -u)" -eq 0 ]; then
  chown -R postgres "$work"
  runner=(runuser -u postgres --)
fi

(cd "$work" && "${runner[@]}" pg_virtualenv -t -v 15 -i "--encoding=UTF8 --locale=C.UTF-8" bash test/suites.sh)
status=$?

# The benchmark in smoke mode (tiny sizes, its own throwaway cluster): it
# must keep working; no time is asserted.
if [ -z "${STRESS_ONLY:-}" ]; then
  echo "== bench (smoke)"
  BENCH_SMOKE=1 BENCH_OUT="$work/bench" bash bench/run.sh 2>&1 | tee "$work/bench.log"
  bench_status=${PIPESTATUS[0]}
  mkdir -p "$work/counts"
  p=$(grep -cE '^ok [0-9]' "$work/bench.log"); q=$(grep -cE '^not ok' "$work/bench.log")
  [ "$bench_status" -eq 0 ] || [ "$q" -gt 0 ] || q=1
  echo "$p $q" > "$work/counts/bench"
fi

if [ -z "${STRESS_ONLY:-}" ]; then
  mkdir -p "$work/counts"
  p=$(grep -cE '^ok [0-9]' "$packaging_log"); q=$(grep -cE '^not ok' "$packaging_log")
  [ "$packaging_status" -eq 0 ] || [ "$q" -gt 0 ] || q=1
  echo "$p $q" > "$work/counts/packaging"
fi

passed=0 failed=0
for f in "$work"/counts/*; do
  [ -f "$f" ] || continue
  read -r p q < "$f"
  passed=$((passed + p)) failed=$((failed + q))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
