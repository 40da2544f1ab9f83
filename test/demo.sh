#!/usr/bin/env bash
# make demo: builds and installs irp_batch, starts a throwaway PostgreSQL 15
# cluster (pg_virtualenv -t: a temporary directory, no system configuration
# touched, removed afterwards) and plays the proposal's scenario in psql.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
make -s PG_CONFIG="$PG_CONFIG"
$sudo make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

runner=()
[ "$(id -u)" -eq 0 ] && runner=(runuser -u postgres --)

# The scenario is the pg_regress suite sql/scenario.sql, fed on standard input
# so that psql prints its errors exactly as an interactive session would.
"${runner[@]}" pg_virtualenv -t -v 15 -i "--encoding=UTF8 --locale=C.UTF-8" psql -X -q -a -v ON_ERROR_STOP=0 < sql/scenario.sql 2>&1
