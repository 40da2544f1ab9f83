#!/usr/bin/env bash
# bench/headroom.sh: how many IRP batch creates per second one server takes,
# directly and through the PL/Proxy router of examples/plproxy (two shard
# databases in the same cluster), with pgbench. docs/scaling.md reports a run.
#
# The workload is the Step 03 notebook's, for a new configuration each time:
# irp_batch_preflight for two batch types, then irp_create_batch for
# EDM_CREATION with 3 jobs and PORTFOLIO_CREATION with 5 jobs, each call its
# own transaction and each create with a request_id of its own (as the Python
# client runs them). The tables first get a
# history of HISTORY configurations (two batches each, nine in ten finished).
#
# Runs against the cluster of libpq's environment, as a superuser, with the
# extension and postgresql-15-plproxy installed:
#   runuser -u postgres -- pg_virtualenv -t -v 15 bash bench/headroom.sh
# Knobs: HEADROOM_SECONDS (per run, 20), HEADROOM_CLIENTS ("1 2 4"),
# HEADROOM_HISTORY (50000). Creates and drops the databases irp_hr_single,
# irp_hr_router, irp_hr_shard_0 and irp_hr_shard_1.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${HEADROOM_SECONDS:-20}
clients=${HEADROOM_CLIENTS:-1 2 4}
history=${HEADROOM_HISTORY:-50000}
dbs=(irp_hr_single irp_hr_router irp_hr_shard_0 irp_hr_shard_1)
tmp=$(mktemp -d /tmp/irp_headroom.XXXXXX)
cleanup() {
  rm -rf "$tmp"
  for db in "${dbs[@]}"; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
cleanup
mkdir -p "$tmp"

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# The counter for new configuration ids (in the database pgbench connects to).
counter() { q -d "$1" -c "CREATE SCHEMA irp_bench" -c "CREATE SEQUENCE irp_bench.configuration START WITH 1000000"; }
# history DB [WHERE]: the history's batches, made with irp_create_batch in DB
# (for a shard, only its configurations).
history() {
  q -d "$1" -c "SELECT irp.irp_create_batch(t, c, 3, false, '[{\"edm\": \"A\"}, {\"edm\": \"B\"}]')
                  FROM generate_series(1, $history) c, unnest('{EDM_CREATION,PORTFOLIO_CREATION}'::text[]) t
                 WHERE ${2:-true}" >/dev/null
}
finish_history() {  # finish_history SHARD_DB: nine in ten batches of the history COMPLETED
  q -d "$1" -c "UPDATE irp.irp_batch SET status = 'COMPLETED', completed_ts = now() WHERE configuration_id % 10 <> 0" \
            -c "VACUUM ANALYZE irp.irp_batch" -c "VACUUM ANALYZE irp.irp_job" -c "VACUUM ANALYZE irp.irp_batch_event"
}

for db in "${dbs[@]}"; do createdb "$db"; done
q -d irp_hr_single -c "CREATE SCHEMA irp" -c "CREATE EXTENSION irp_batch SCHEMA irp"
for s in 0 1; do
  q -d irp_hr_shard_$s -c "CREATE SCHEMA irp" -c "CREATE EXTENSION irp_batch SCHEMA irp"
  q -d irp_hr_shard_$s -v shard=$s -v shards=2 -f examples/plproxy/shard.sql >/dev/null
done
q -d irp_hr_router -f examples/plproxy/router.sql
q -d irp_hr_router \
  -v conn0="host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=irp_hr_shard_0" \
  -v conn1="host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=irp_hr_shard_1" \
  -v user="${PGUSER:-$(id -un)}" -v password="${PGPASSWORD:-}" <<'SQL'
CREATE SERVER irp_shards FOREIGN DATA WRAPPER plproxy OPTIONS (p0 :'conn0', p1 :'conn1');
CREATE USER MAPPING FOR CURRENT_USER SERVER irp_shards OPTIONS (user :'user', password :'password');
SQL
q -d irp_hr_router -c "SELECT * FROM irp_router.check_cluster()" >/dev/null
counter irp_hr_single
counter irp_hr_router
history irp_hr_single
for s in 0 1; do history irp_hr_shard_$s "irp_shard.configuration_partition(c, 2) = $s"; done
for db in irp_hr_single irp_hr_shard_0 irp_hr_shard_1; do finish_history "$db"; done

cat > "$tmp/step03.pgbench" <<'EOF'
SELECT nextval('irp_bench.configuration') AS c \gset
SELECT count(*) FROM irp.irp_batch_preflight(:c, '{EDM_CREATION,PORTFOLIO_CREATION}') p WHERE p.batch_id IS NOT NULL;
SELECT irp.irp_create_batch('EDM_CREATION', :c, 3, false, '[{"edm": "A"}, {"edm": "B"}, {"edm": "C"}]', gen_random_uuid());
SELECT irp.irp_create_batch('PORTFOLIO_CREATION', :c, 3, false, '[{"p": 1}, {"p": 2}, {"p": 3}, {"p": 4}, {"p": 5}]', gen_random_uuid());
EOF

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(psql -X -At -d postgres -c 'SELECT version()' | cut -d, -f1)"
echo "# settings: $(psql -X -At -d postgres -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
                    WHERE name IN ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections')")"
echo "# history: $history configurations (two batches each) per target; each run ${seconds}s, pgbench -M prepared"
echo "| target | clients | Step 03 runs/s | creates/s | latency ms | load average |"
echo "| --- | --- | --- | --- | --- | --- |"
for c in $clients; do
  for target in irp_hr_single irp_hr_router; do
    jobs=$(( c < $(nproc) ? c : $(nproc) ))
    pgbench -n -M prepared -c "$c" -j "$jobs" -T "$seconds" -f "$tmp/step03.pgbench" "$target" > "$tmp/out" 2>&1 ||
      { cat "$tmp/out" >&2; exit 1; }
    tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$tmp/out")
    lat=$(sed -nE 's/^latency average = ([0-9.]+) ms/\1/p' "$tmp/out")
    name=$([ "$target" = irp_hr_single ] && echo "one database" || echo "router, 2 shards")
    awk -v n="$name" -v c="$c" -v t="$tps" -v l="$lat" -v a="$(cut -d' ' -f1 /proc/loadavg)" \
      'BEGIN { printf "| %s | %s | %.0f | %.0f | %s | %s |\n", n, c, t, 2 * t, l, a }' 
  done
done
# The creates went where they should: every new configuration has its two batches.
for db in irp_hr_single irp_hr_shard_0 irp_hr_shard_1; do
  q -d "$db" -c "SELECT '# $db: ' || count(*) || ' new batches, ' || count(DISTINCT configuration_id) || ' configurations'
                   FROM irp.irp_batch WHERE configuration_id >= 1000000"
done
