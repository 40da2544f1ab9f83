#!/usr/bin/env bash
# Runs every suite against the cluster pg_virtualenv started (PGHOST, PGPORT,
# PGUSER set). Each suite writes "passed failed" to counts/SUITE.
set -uo pipefail
mkdir -p counts
export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
status=0

# pg_regress: sql/*.sql against expected/*.out, one test per file.
echo "== pg_regress"
make -s installcheck PG_CONFIG="$PG_CONFIG" 2>&1 | tee regress.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
[ -f regression.diffs ] && cat regression.diffs
echo "$(grep -cE '^(ok|test) .* ok ' regress.log) $(grep -cE '(FAILED|failed \(ignored\))' regress.log)" > counts/regress

# pgTAP: test/*.sql with pg_prove, one test per assertion.
echo "== pgTAP"
psql -X -q -c 'CREATE DATABASE irp_batch_tap' || status=1
PGDATABASE=irp_batch_tap pg_prove -v test/*.sql 2>&1 | tee prove.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' prove.log) $(grep -cE '^not ok [0-9]' prove.log)" > counts/pgtap

# The README's Python example, run for real with psycopg (Debian's python3-psycopg).
echo "== README Python example"
/usr/bin/python3 test/readme_python.py 2>&1 | tee python.log
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "$(grep -cE '^ok [0-9]' python.log) $(grep -cE '^not ok [0-9]' python.log)" > counts/python

exit $status
