#!/usr/bin/env bash
# bench/run.sh: irp_batch's performance benchmark in one command (make bench).
#
# Starts a throwaway PostgreSQL 15 cluster (its own directory under /tmp,
# reachable only through its own Unix socket there, removed afterwards), then
# runs bench/bench.py against it: the PL/pgSQL baseline (bench/baseline.sql)
# and the reference tables (bench/reference.sql) next to the extension, every
# comparison interleaved, medians and ratios written to
# bench/results/results.md and bench/results/chart.svg.
#
# Assumes the extension is installed (make bench runs make install first).
# Works as root (the cluster then runs as postgres, through runuser) and as a
# normal user.
#
#   bash bench/run.sh                  full run (several minutes on 2 cores)
#   BENCH_SMOKE=1 bash bench/run.sh    tiny sizes, every step, well under a minute;
#                                      results in bench/results/smoke/
#   bash bench/run.sh profile WORKLOAD [SECONDS]
#                                      perf profile of one workload (bench/profile.py:
#                                      insert, create, cancel, cancel_big); needs perf
#
# Other knobs: BENCH_OUT (results directory), BENCH_PORT (socket port, 5601),
# BENCH_ROUNDS, BENCH_SCALE_SIZES (e.g. 1000,100000,1000000),
# BENCH_PGBENCH_SECONDS, BENCH_PGBENCH_ROUNDS, BENCH_ONLY (e.g. insert,create).
# Exits non-zero if a step fails; never because of a time.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "bench: $*" >&2; exit 1; }

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
port=${BENCH_PORT:-5601}
mode=bench
if [ "${1:-}" = profile ]; then
  mode=profile
  shift
  command -v perf >/dev/null || die "perf is missing (linux-perf)"
fi
if [ "$mode" = profile ]; then
  out=${BENCH_OUT:-bench/results/profile}
  shared_buffers=1GB
elif [ "${BENCH_SMOKE:-0}" != 0 ]; then
  out=${BENCH_OUT:-bench/results/smoke}
  shared_buffers=128MB
else
  out=${BENCH_OUT:-bench/results}
  shared_buffers=2GB
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# What the benchmark needs; gnuplot draws the chart.
[ -x "$PGBIN/postgres" ] && [ -x "$PGBIN/pgbench" ] || die "PostgreSQL 15 not found in $PGBIN (postgresql-15)"
[ -f "$("$PGBIN/pg_config" --sharedir)/extension/irp_batch.control" ] ||
  die "the irp_batch extension is not installed: run make install (make bench does)"
/usr/bin/python3 -c 'import psycopg' 2>/dev/null || die "psycopg 3 is missing (python3-psycopg)"
if ! command -v gnuplot >/dev/null; then
  echo "bench: installing gnuplot-nox for the chart" >&2
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gnuplot-nox; } >/dev/null ||
    die "could not install gnuplot-nox"
fi

# The cluster: initdb refuses to run as root, so as root it runs as postgres.
runner=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "user postgres not found (postgresql-15 creates it)"
  runner=(runuser -u postgres --)
fi
dir=$(mktemp -d /tmp/benchpg.XXXXXX)
[ ${#runner[@]} -eq 0 ] || chown postgres "$dir"
started=""
cleanup() {
  if [ -n "$started" ]; then
    "${runner[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${runner[@]}" "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust --encoding=UTF8 --locale=C.UTF-8 \
  >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

# No TCP: the socket in $dir is the only way in, so the port cannot clash.
# Durability off and no autovacuum: the numbers are the code's CPU cost, and
# nothing runs behind the measurements' backs. JIT off: no compile time in
# the larger statements' numbers.
opts="-c listen_addresses='' -c unix_socket_directories='$dir' -c port=$port"
opts+=" -c shared_buffers=$shared_buffers -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
opts+=" -c autovacuum=off -c jit=off -c max_wal_size=8GB -c checkpoint_timeout=1h"
[ "$mode" = bench ] ||
  opts+=" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
"${runner[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 -o "$opts" start >/dev/null ||
  { cat "$dir/server.log" >&2; die "the cluster did not start"; }
started=1

unset PGSERVICE PGSERVICEFILE PGPASSWORD PGOPTIONS PGSSLMODE PGHOSTADDR
export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres PGBIN BENCH_OUT=$out

status=0
if [ "$mode" = bench ]; then
  /usr/bin/python3 bench/bench.py || status=$?
else
  /usr/bin/python3 bench/profile.py "$@" || status=$?
fi
if [ "$status" -ne 0 ]; then
  echo "bench: some steps failed; the server log's last lines:" >&2
  tail -n 20 "$dir/server.log" >&2 || true
fi
exit "$status"
