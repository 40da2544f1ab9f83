#!/usr/bin/env bash
# pg_dump and restore of a database that uses irp_batch, the way README's
# "Backups" section says (1.0: restore with session_replication_role = replica).
# Runs against the cluster in PGHOST/PGPORT/PGUSER; prints TAP.
set -u
n=0
check() { # check STATUS DESCRIPTION
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
src=irp_batch_backup_src dst=irp_batch_backup_dst
dump=$(mktemp /tmp/irp_batch_dump.XXXXXX)
drop_databases() { for db in "$src" "$dst"; do psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" 2>/dev/null; done; }
trap 'rm -f "$dump"; drop_databases' EXIT
drop_databases
createdb "$src" && createdb "$dst"

# Batches, jobs, an intentional duplicate made before its original was updated
# (so it comes before it in the dump), a cancellation and its audit rows.
psql -X -q -d "$src" -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION irp_batch;
SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"edm": "A"}, {"edm": "B"}]');
SELECT irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true);
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3, jobs => '[{"portfolio": "P1"}]');
UPDATE irp_batch SET status = 'ACTIVE' WHERE id = 1;
UPDATE irp_job SET status = 'SUBMITTED' WHERE batch_id = 3;
SELECT irp_cancel_batch(3, 'Not needed');
SQL

contents() { # every row of the three tables and every sequence position, as one value
  psql -X -tA -d "$1" -c "SELECT md5(concat(
      (SELECT string_agg(b::text, '|' ORDER BY b.id) FROM irp_batch b),
      (SELECT string_agg(j::text, '|' ORDER BY j.id) FROM irp_job j),
      (SELECT string_agg(e::text, '|' ORDER BY e.id) FROM irp_batch_event e),
      (SELECT last_value FROM irp_batch_id_seq), (SELECT last_value FROM irp_job_id_seq),
      (SELECT last_value FROM irp_batch_event_id_seq)))"
}

pg_dump -Fc -d "$src" -f "$dump" 2>/dev/null
check $? "pg_dump -Fc"
PGOPTIONS='-c session_replication_role=replica' pg_restore -d "$dst" "$dump"
check $? "pg_restore with session_replication_role = replica"
[ -n "$(contents "$src")" ] && [ "$(contents "$src")" = "$(contents "$dst")" ]
check $? "every row of the three tables and every sequence position restored"
psql -X -q -d "$dst" -c "SELECT irp_create_batch('EDM_CREATION', 42, 3)" 2>&1 | grep -q "Active batch already exists"
check $? "the restored database still refuses a duplicate"
echo "1..$n"
