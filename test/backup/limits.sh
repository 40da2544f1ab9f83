# Sourced by test/backup.sh after the matrix: the limits, which are
# PostgreSQL's own for any extension. Each asserts what happens and prints the
# restore's distinct errors as diagnostics ("# "), for the limits of docs/backups.md.
# Uses the fresh source irp_bk_fresh, its snapshot and its -Fc dump.

fsrc=irp_bk_fresh fsnap=$tmp/fresh.snap fdump=$tmp/fresh.fc
newdb() { q "dbname=postgres" "CREATE DATABASE $1${2:+ OWNER $2}" >/dev/null; }
# shows LOG: the restore's distinct errors, as diagnostics
shows() { errors_of "$1" | sed 's/^/#     /'; }
# only_errors LOG REGEX: every error matches REGEX (there is at least one)
only_errors() { [ -n "$(errors_of "$1")" ] && ! errors_of "$1" | sed -E 's/^[0-9]+ //' | grep -qvE "$2"; }
has_error() { grep -qF -- "$2" "$1"; }
trigger_errors='^(function public\.irp_(batch|job)_[a-z_]+\(\) does not exist|trigger "irp_batch_event_guard" for table "irp_batch_event" does not exist)$'

# 1. pg_dump -n (and -t) leave out CREATE EXTENSION: the functions are not
# restored, so the triggers on the tables cannot be created; the rows are.
# A superuser's CREATE EXTENSION afterwards attaches the restored tables.
pg_dump -Fc -n public -d "$fsrc" -f "$tmp/n.fc" 2>"$tmp/n.dump.log"
newdb irp_bk_limit_n
pg_restore -d irp_bk_limit_n "$tmp/n.fc" >"$tmp/n.log" 2>&1
s=$?
note "limit: pg_dump -Fc -n public, pg_restore -d (exit $s):"; shows "$tmp/n.log"
[ "$s" -ne 0 ] && only_errors "$tmp/n.log" "$trigger_errors|^schema \"public\" already exists$" &&
  has_error "$tmp/n.log" 'function public.irp_batch_guard() does not exist'
check $? "limit: pg_dump -n: the restore fails only to create the triggers (function public.irp_batch_guard() does not exist ...)"
snapshot "dbname=irp_bk_limit_n" "$tmp/n.snap"
same 'row|seqpos' "$fsnap" "$tmp/n.snap"
check $? "limit: pg_dump -n: every row and sequence position is restored"
[ "$(q dbname=irp_bk_limit_n "SELECT count(*) FROM pg_extension WHERE extname = 'irp_batch'")
$(q dbname=irp_bk_limit_n "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'irp_batch'::regclass AND NOT tgisinternal")" = "0
0" ]
check $? "limit: pg_dump -n: no extension and no trigger on irp_batch: no guard, no audit until CREATE EXTENSION"
out=$(psql -X -q -v ON_ERROR_STOP=1 -d irp_bk_limit_n -c "CREATE EXTENSION irp_batch" 2>&1)
s=$?; why=$out
check $s "limit: pg_dump -n: then CREATE EXTENSION irp_batch attaches the restored tables"
verify "limit: pg_dump -n, pg_restore, then CREATE EXTENSION" fresh "$fsnap" "dbname=irp_bk_limit_n"

pg_dump -Fc -t irp_batch -t irp_job -t irp_batch_event -d "$fsrc" -f "$tmp/t.fc" 2>"$tmp/t.dump.log"
newdb irp_bk_limit_t
pg_restore -d irp_bk_limit_t "$tmp/t.fc" >"$tmp/t.log" 2>&1
s=$?
note "limit: pg_dump -Fc -t irp_batch -t irp_job -t irp_batch_event, pg_restore -d into a new database (exit $s):"; shows "$tmp/t.log"
[ "$s" -ne 0 ] && has_error "$tmp/t.log" 'type "public.batch_status_enum" does not exist' &&
  has_error "$tmp/t.log" 'type "public.job_status_enum" does not exist'
check $? "limit: pg_dump -t: the enum types are not dumped: CREATE TABLE irp_batch / irp_job fail (type \"public.batch_status_enum\" does not exist)"
snapshot "dbname=irp_bk_limit_t" "$tmp/t.snap"
[ "$(q dbname=irp_bk_limit_t "SELECT to_regclass('irp_batch') IS NULL AND to_regclass('irp_job') IS NULL")" = t ] &&
  same 'row irp_batch_event' "$fsnap" "$tmp/t.snap"
check $? "limit: pg_dump -t: only irp_batch_event (no enum column) is restored, with every event; irp_batch and irp_job are not"

# 2. A restore by a role that may not create the extension (it is
# superuser-only): the tables and rows come back, owned by that role, without
# the guard; a superuser's CREATE EXTENSION then attaches them.
q "dbname=postgres" "CREATE ROLE irp_backup_restorer LOGIN CREATEDB${PGPASSWORD:+ PASSWORD '$PGPASSWORD'}" >/dev/null
newdb irp_bk_limit_user irp_backup_restorer
pg_restore --no-owner -U irp_backup_restorer -d irp_bk_limit_user "$fdump" >"$tmp/user.log" 2>&1
s=$?
note "limit: pg_restore --no-owner -U a non-superuser with CREATEDB, into its database (exit $s):"; shows "$tmp/user.log"
has_error "$tmp/user.log" 'permission denied to create extension "irp_batch"' &&
  has_error "$tmp/user.log" 'Must be superuser to create this extension.' &&
  only_errors "$tmp/user.log" "$trigger_errors|^permission denied to create extension \"irp_batch\"$|^extension \"irp_batch\" does not exist$"
check $? "limit: a non-superuser's restore: permission denied to create extension \"irp_batch\" (Must be superuser), then the triggers fail"
snapshot "dbname=irp_bk_limit_user" "$tmp/user.snap"
same 'row|seqpos' "$fsnap" "$tmp/user.snap" &&
  [ "$(q dbname=irp_bk_limit_user "SELECT string_agg(DISTINCT pg_get_userbyid(relowner), ',') FROM pg_class
                                   WHERE relname IN ('irp_batch', 'irp_job', 'irp_batch_event')")" = irp_backup_restorer ]
check $? "limit: a non-superuser's restore: every row and sequence position, the tables owned by that role"
out=$(psql -X -q -v ON_ERROR_STOP=1 -d irp_bk_limit_user -c "CREATE EXTENSION irp_batch" 2>&1)
s=$?; why=$out
check $s "limit: a non-superuser's restore: then a superuser's CREATE EXTENSION irp_batch attaches the tables"
guard_checks "limit: a non-superuser's restore, then CREATE EXTENSION" fresh "$fsnap" "dbname=irp_bk_limit_user"

# 3. --data-only without --disable-triggers into a schema-only restore: the
# triggers exist and fire for the restored rows.
newdb irp_bk_limit_data
pg_restore --schema-only -d irp_bk_limit_data "$fdump" >"$tmp/data.log" 2>&1 &&
  pg_restore --data-only -d irp_bk_limit_data "$fdump" >"$tmp/data.log" 2>&1
s=$?
note "limit: pg_restore --schema-only, then --data-only without --disable-triggers (exit $s):"; shows "$tmp/data.log"
[ "$s" -ne 0 ] && has_error "$tmp/data.log" 'duplicate_of must reference an existing batch' &&
  [ "$(q dbname=irp_bk_limit_data "SELECT count(*) FROM irp_batch")" = 0 ]
check $? "limit: --data-only without --disable-triggers: the guard refuses the intentional duplicate stored before its original (duplicate_of must reference an existing batch): no batch is loaded"
# The same with a source whose duplicates follow their originals: the rows
# load, the audit writes a CREATED event for each, and the dump's own events
# then collide with those.
newdb irp_bk_limit_src2
psql -X -q -v ON_ERROR_STOP=1 -d irp_bk_limit_src2 >/dev/null 2>&1 <<'SQL'
CREATE EXTENSION irp_batch;
SELECT irp_create_batch('EDM_CREATION', 1, 1, jobs => '[{"edm": "A"}]');
SELECT irp_create_batch('EDM_CREATION', 1, 1, allow_duplicate => true);
SELECT irp_create_batch('PORTFOLIO_CREATION', 1, 1);
SELECT irp_cancel_batch(3, 'not needed');
SQL
pg_dump -Fc -d irp_bk_limit_src2 -f "$tmp/src2.fc"
snapshot dbname=irp_bk_limit_src2 "$tmp/src2.snap"
newdb irp_bk_limit_data2
pg_restore --schema-only -d irp_bk_limit_data2 "$tmp/src2.fc" >"$tmp/data2.log" 2>&1 &&
  pg_restore --data-only -d irp_bk_limit_data2 "$tmp/src2.fc" >"$tmp/data2.log" 2>&1
s=$?
note "limit: the same for a source whose duplicates follow their originals (exit $s):"; shows "$tmp/data2.log"
snapshot dbname=irp_bk_limit_data2 "$tmp/data2.snap"
events=$(q dbname=irp_bk_limit_data2 "SELECT string_agg(concat_ws(' ', id, event, batch_id), ', ' ORDER BY id) FROM irp_batch_event")
note "  irp_batch_event afterwards: $events (the source had $(grep -c '^row irp_batch_event ' "$tmp/src2.snap") events)"
[ "$s" -ne 0 ] && has_error "$tmp/data2.log" 'duplicate key value violates unique constraint "irp_batch_event_pkey"' &&
  same 'row irp_batch|row irp_job' "$tmp/src2.snap" "$tmp/data2.snap" &&
  [ "$events" = "1 CREATED 1, 2 DUPLICATE_CREATED 2, 3 CREATED 3" ]
check $? "limit: --data-only without --disable-triggers: the rows load, the audit writes an event for each, and the dump's events fail (duplicate key ... irp_batch_event_pkey): the history is lost"

# 4. --enable-row-security: no restore signal, so the dump's CREATE
# EXTENSION makes the tables, and the dump's CREATE TYPE / CREATE TABLE fail.
pg_dump --enable-row-security -d "$fsrc" -f "$tmp/rls.sql" 2>"$tmp/rls.dump.log"
newdb irp_bk_limit_rls
psql -X -q -d irp_bk_limit_rls -f "$tmp/rls.sql" >"$tmp/rls.log" 2>&1
s=$?
note "limit: pg_dump --enable-row-security, psql -f (exit $s, psql goes on after errors):"; shows "$tmp/rls.log"
has_error "$tmp/rls.log" 'type "batch_status_enum" already exists' && has_error "$tmp/rls.log" 'relation "irp_batch" already exists'
check $? "limit: pg_dump --enable-row-security: CREATE EXTENSION makes the tables; the dump's own fail (relation \"irp_batch\" already exists)"
snapshot dbname=irp_bk_limit_rls "$tmp/rls.snap"
has_error "$tmp/rls.log" 'column "cost_centre" of relation "irp_batch" does not exist' &&
  [ "$(q dbname=irp_bk_limit_rls "SELECT count(*) FROM irp_batch")" = 0 ] && ! same 'enum' "$fsnap" "$tmp/rls.snap"
s=$?; why=""
note "  rows afterwards: $(q dbname=irp_bk_limit_rls "SELECT format('irp_batch %s, irp_job %s, irp_batch_event %s, irp_batch_invoice %s (the source: %s)',
  (SELECT count(*) FROM irp_batch), (SELECT count(*) FROM irp_job), (SELECT count(*) FROM irp_batch_event), (SELECT count(*) FROM irp_batch_invoice),
  '$(grep -c '^row irp_batch ' "$fsnap") / $(grep -c '^row irp_job ' "$fsnap") / $(grep -c '^row irp_batch_event ' "$fsnap") / $(grep -c '^row irp_batch_invoice ' "$fsnap")')")"
check $s "limit: pg_dump --enable-row-security: the DBA's changes are lost (column \"cost_centre\" ... does not exist, so no batch is loaded; the added labels are missing)"
newdb irp_bk_limit_rls2
pg_restore --enable-row-security -d irp_bk_limit_rls2 "$fdump" >"$tmp/rls2.log" 2>&1
s=$?
note "limit: pg_restore --enable-row-security (exit $s):"; shows "$tmp/rls2.log"
[ "$s" -ne 0 ] && has_error "$tmp/rls2.log" 'relation "irp_batch" already exists' &&
  [ "$(q dbname=irp_bk_limit_rls2 "SELECT count(*) FROM irp_batch")" = 0 ]
check $? "limit: pg_restore --enable-row-security: the same (relation \"irp_batch\" already exists; no batch is loaded)"

# 5. The signal's false positive: a session that set row_security = off
# itself gets only the code from CREATE EXTENSION; irp_batch_setup() then
# makes the tables.
newdb irp_bk_limit_signal
out=$(psql -X -q -tA -v ON_ERROR_STOP=1 -d irp_bk_limit_signal -c "SET row_security = off" -c "CREATE EXTENSION irp_batch" \
        -c "SELECT to_regclass('irp_batch') IS NULL" -c "SELECT irp_batch_setup() IS NOT NULL" \
        -c "SELECT to_regclass('irp_batch') IS NOT NULL AND to_regclass('irp_batch_event') IS NOT NULL" 2>&1)
why=$out
[ "$out" = "t
t
t" ]
check $? "limit: a session that itself SET row_security = off is taken for a restore: CREATE EXTENSION makes no table; SELECT irp_batch_setup() makes them"
