#!/usr/bin/env bash
# pg_dump and restore of a database that uses irp_batch with the stock
# commands and no extra options: pg_dump -Fc then pg_restore -d, and pg_dump
# then psql -f. Every row of the three tables and every sequence position must
# come back exactly (no extra audit events), and the restored database must
# still enforce the guard. The same for a database whose tables the extension
# adopted (test/fixtures): extra columns, TIMESTAMP columns, extra enum labels
# and their own indexes and constraints come back too. Runs against the cluster in PGHOST/PGPORT/PGUSER;
# prints TAP.
set -u
n=0
check() { # check STATUS DESCRIPTION
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
src=irp_batch_backup_src
dump=$(mktemp /tmp/irp_batch_dump.XXXXXX)
plain=$(mktemp /tmp/irp_batch_dump_plain.XXXXXX)
drop_databases() {
  for db in "$src" irp_batch_backup_fc irp_batch_backup_plain irp_batch_adopted_src irp_batch_adopted_fc irp_batch_adopted_plain; do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" 2>/dev/null
  done
}
trap 'rm -f "$dump" "$plain"; drop_databases' EXIT
drop_databases
createdb "$src"

# Batches with jobs; an intentional duplicate whose original is updated
# afterwards (so that the original's row comes after it in the table and in
# the dump); a duplicate moved on to a later batch; a cancellation; a deleted
# batch (its history stays); an application role's changes.
psql -X -q -d "$src" -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION irp_batch;
CREATE ROLE irp_backup_app;
GRANT USAGE ON SCHEMA public TO irp_backup_app;
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO irp_backup_app;
GRANT SELECT ON irp_batch_event TO irp_backup_app;
SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{"edm": "A"}, {"edm": "B"}]');
SELECT irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true);
SELECT irp_create_batch('PORTFOLIO_CREATION', 42, 3, jobs => '[{"portfolio": "P1"}]');
UPDATE irp_batch SET status = 'ACTIVE' WHERE id = 1;
UPDATE irp_job SET status = 'SUBMITTED' WHERE batch_id = 3;
SELECT irp_cancel_batch(3, 'Not needed');
SET ROLE irp_backup_app;
SELECT irp_create_batch('ANALYSIS', 42, 4, jobs => '[{"a": 1}]');
SELECT irp_create_batch('ANALYSIS', 42, 4, allow_duplicate => true);
RESET ROLE;
SELECT irp_create_batch('EDM_CREATION', 43, 3);
DELETE FROM irp_batch WHERE id = 6;
SQL
psql -X -q -d "$src" -c "SELECT pg_catalog.setval('irp_batch_event_id_seq', 40)" >/dev/null

contents() { # every row of the three tables and every sequence position, as one value
  psql -X -tA -d "$1" -c "SELECT md5(concat(
      (SELECT string_agg(b::text, '|' ORDER BY b.id) FROM irp_batch b),
      (SELECT string_agg(j::text, '|' ORDER BY j.id) FROM irp_job j),
      (SELECT string_agg(e::text, '|' ORDER BY e.id) FROM irp_batch_event e),
      (SELECT last_value || is_called::text FROM irp_batch_id_seq),
      (SELECT last_value || is_called::text FROM irp_job_id_seq),
      (SELECT last_value || is_called::text FROM irp_batch_event_id_seq)))"
}
expected=$(contents "$src")
# The original's row (id 1) comes after its duplicate's (id 2) in the table.
order=$(psql -X -tA -d "$src" -c "SELECT string_agg(id::text, ',') FROM (SELECT id FROM irp_batch) b")
[[ "$order" == 2,*1* ]]
check $? "the source has an intentional duplicate stored before its original ($order)"

still_guarded() { # the restored database refuses a duplicate, audits new batches, keeps the audit closed
  psql -X -q -d "$1" -c "SELECT irp_create_batch('EDM_CREATION', 42, 3)" 2>&1 | grep -q "Active batch already exists for configuration 42"
  check $? "$2: the restored database still refuses a duplicate"
  psql -X -q -d "$1" -v ON_ERROR_STOP=1 -c "SET ROLE irp_backup_app" -c "SELECT irp_create_batch('RESTORED', 42, 5)" \
    >/dev/null 2>&1
  check $? "$2: an application role creates a new batch"
  [ "$(psql -X -tA -d "$1" -c "SELECT id > 7 AND event = 'CREATED' AND actor = 'irp_backup_app' AND batch_id = 8
                                FROM irp_batch_event ORDER BY id DESC LIMIT 1")" = t ]
  check $? "$2: its event follows the restored ones, with the sequences where they were"
  psql -X -q -d "$1" -c "SET ROLE irp_backup_app" -c "INSERT INTO irp_batch_event (batch_id, event, actor) VALUES (1, 'X', 'x')" \
    2>&1 | grep -q "permission denied"
  check $? "$2: the application role still cannot write the audit trail"
}

pg_dump -Fc -d "$src" -f "$dump"
check $? "pg_dump -Fc"
createdb irp_batch_backup_fc
pg_restore -d irp_batch_backup_fc "$dump"
check $? "pg_restore -d, no options, no errors"
[ -n "$expected" ] && [ "$expected" = "$(contents irp_batch_backup_fc)" ]
check $? "pg_restore: every row of the three tables and every sequence position, exactly"
still_guarded irp_batch_backup_fc "pg_restore"

pg_dump -d "$src" -f "$plain"
check $? "pg_dump (plain SQL)"
createdb irp_batch_backup_plain
psql -X -q -v ON_ERROR_STOP=1 -d irp_batch_backup_plain -f "$plain" >/dev/null
check $? "psql -f, no errors"
[ "$expected" = "$(contents irp_batch_backup_plain)" ]
check $? "psql -f: every row of the three tables and every sequence position, exactly"
still_guarded irp_batch_backup_plain "psql -f"

# An adopted database.
here=$(cd "$(dirname "$0")" && pwd)
asrc=irp_batch_adopted_src
createdb "$asrc"
psql -X -q -d "$asrc" -v ON_ERROR_STOP=1 -f "$here/fixtures/init_database.sql" -f "$here/fixtures/irp_data.sql" >/dev/null
psql -X -q -d "$asrc" -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
-- Before adoption: the application's grants, and a constraint and an index
-- that use the extra label ERROR (a restore must add it before them).
GRANT USAGE ON SCHEMA public TO irp_backup_app;
GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO irp_backup_app;
GRANT USAGE ON SEQUENCE irp_batch_id_seq, irp_job_id_seq TO irp_backup_app;
ALTER TABLE irp_batch ADD CONSTRAINT irp_batch_error_completed CHECK (status IS DISTINCT FROM 'ERROR' OR completed_ts IS NOT NULL);
CREATE INDEX idx_batch_errors ON irp_batch (configuration_id) WHERE status = 'ERROR';
-- ... a generated column and a column with a collation of its own.
ALTER TABLE irp_batch ADD COLUMN batch_key text GENERATED ALWAYS AS (configuration_id::text || ':' || batch_type) STORED;
ALTER TABLE irp_job ALTER COLUMN moodys_workflow_id TYPE varchar(255) COLLATE "C";
CREATE EXTENSION irp_batch;
GRANT SELECT ON irp_batch_event TO irp_backup_app;
SELECT irp_create_batch('ANALYSIS', 2, 2, jobs => '[{"a": 1}]');
SELECT irp_create_batch('ANALYSIS', 2, 2, allow_duplicate => true);
SELECT irp_cancel_batch(4, 'restored later');
UPDATE irp_batch SET status = 'ERROR', notes = 'failed at Moody''s', completed_ts = '2025-10-02 08:00' WHERE id = 5;
INSERT INTO irp_batch_result (batch_id, result_path) VALUES (13, 's3://irp/q4/analysis.parquet');
ALTER TABLE irp_job ADD COLUMN moodys_job_url text;
SELECT irp_batch_record_shape();
UPDATE irp_job SET moodys_job_url = 'https://moodys.example/jobs/wf-0004' WHERE id = 4;
SQL
check $? "an adopted database with new batches, a cancellation, an ERROR and a column added after adoption"

adopted_contents() { # every row of the adopted tables, by column name, the audit trail and the sequences
  psql -X -tA -d "$1" -c "SELECT md5(concat(
      (SELECT string_agg(to_jsonb(b)::text, '|' ORDER BY b.id) FROM irp_batch b),
      (SELECT string_agg(to_jsonb(j)::text, '|' ORDER BY j.id) FROM irp_job j),
      (SELECT string_agg(e::text, '|' ORDER BY e.id) FROM irp_batch_event e),
      (SELECT string_agg(r::text, '|' ORDER BY r.id) FROM irp_batch_result r),
      (SELECT string_agg(s.last_value || s.is_called::text, '|' ORDER BY s.seqname) FROM (
          SELECT 'b' AS seqname, last_value, is_called FROM irp_batch_id_seq
          UNION ALL SELECT 'j', last_value, is_called FROM irp_job_id_seq
          UNION ALL SELECT 'e', last_value, is_called FROM irp_batch_event_id_seq
          UNION ALL SELECT 'r', last_value, is_called FROM irp_batch_result_id_seq) s)))"
}
shape() { # the shape of the adopted tables, as irp_batch_shape() reads it
  psql -X -tA -d "$1" -c "SELECT md5(string_agg(concat_ws(' ', kind, object, name, definition), '|'
                                                ORDER BY kind, object, name)) FROM irp_batch_shape()"
}
aexpected=$(adopted_contents "$asrc")
ashape=$(shape "$asrc")
adopted_guarded() { # the restored adopted database still refuses a duplicate, takes ERROR, keeps the grants
  psql -X -q -d "$1" -c "SELECT irp_create_batch('ANALYSIS', 2, 2)" 2>&1 | grep -q "Active batch already exists for configuration 2"
  check $? "$2: the restored adopted database still refuses a duplicate"
  [ "$(psql -X -q -tA -d "$1" -v ON_ERROR_STOP=1 -c "UPDATE irp_batch SET status = 'ERROR', completed_ts = now() WHERE id = 13 RETURNING status")" = ERROR ]
  check $? "$2: the extra label ERROR is there, and ends a batch"
  psql -X -q -d "$1" -v ON_ERROR_STOP=1 -c "SET ROLE irp_backup_app" \
    -c "SELECT irp_create_batch('RESTORED', 2, 2, jobs => '[{\"x\": 1}]')" >/dev/null 2>&1
  check $? "$2: the application role's grants on the adopted tables came back"
  [ "$(psql -X -tA -d "$1" -c "SELECT string_agg(e::text, ',' ORDER BY e) FROM unnest(enum_range(NULL::batch_status_enum)) e")" \
    = "INITIATED,ACTIVE,COMPLETED,FAILED,CANCELLED,ERROR" ]
  check $? "$2: the labels are in their order"
}

pg_dump -Fc -d "$asrc" -f "$dump"
check $? "adopted: pg_dump -Fc"
# pg_dump loads a schema's data by name: the recorded shape comes first.
order=$(pg_restore -l "$dump" | grep 'TABLE DATA public irp_' | awk '{print $(NF-1)}' | head -3 | tr '\n' ' ')
[ "$order" = "irp_adopted_enum_label irp_adopted_shape irp_batch " ]
check $? "adopted: the recorded labels, then the shape, then irp_batch's rows, in the dump ($order)"
createdb irp_batch_adopted_fc
pg_restore -d irp_batch_adopted_fc "$dump"
check $? "adopted: pg_restore -d, no options, no errors"
[ -n "$aexpected" ] && [ "$aexpected" = "$(adopted_contents irp_batch_adopted_fc)" ]
check $? "adopted: pg_restore: every row (extra columns too) and every sequence position, exactly"
[ -n "$ashape" ] && [ "$ashape" = "$(shape irp_batch_adopted_fc)" ]
check $? "adopted: pg_restore: the tables' shape (extra and TIMESTAMP columns, labels, defaults, indexes) as adopted"
adopted_guarded irp_batch_adopted_fc "adopted: pg_restore"

pg_dump -d "$asrc" -f "$plain"
createdb irp_batch_adopted_plain
psql -X -q -v ON_ERROR_STOP=1 -d irp_batch_adopted_plain -f "$plain" >/dev/null
check $? "adopted: psql -f, no errors"
[ "$aexpected" = "$(adopted_contents irp_batch_adopted_plain)" ] && [ "$ashape" = "$(shape irp_batch_adopted_plain)" ]
check $? "adopted: psql -f: every row, every sequence position and the shape, exactly"
adopted_guarded irp_batch_adopted_plain "adopted: psql -f"

psql -X -q -d postgres -c "DROP ROLE IF EXISTS irp_backup_app" 2>/dev/null
drop_databases
psql -X -q -d postgres -c "DROP ROLE IF EXISTS irp_backup_app" >/dev/null 2>&1
echo "1..$n"
