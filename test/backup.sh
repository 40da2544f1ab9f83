#!/usr/bin/env bash
# The backup matrix (issue 12): every stock way to back up and restore a
# database that uses irp_batch, with no extra step, must give back exactly
# what was there.
#
# Two source databases, each built natively by SQL (test/backup/):
#   fresh    a fresh install with activity (fresh.sql)
#   adopted  the helpers' seed-shaped database, adopted (fixtures + adopted.sql)
# both with changes a DBA made after installing (dba.sql): a column with
# values, a view, indexes, a table referencing irp_batch(id), grants, enum
# labels added BEFORE others.
#
# Variants, each into a new database (pg_upgrade: new clusters):
#   pg_dump -Fc | pg_restore;  -Fd | pg_restore -j 4;  pg_restore -1;
#   pg_restore --no-owner;
#   pg_dump | psql -f;  psql -1 -f;  pg_dump --inserts | psql -f;
#   pg_restore --schema-only then --data-only --disable-triggers;
#   pg_upgrade (same major version), copy and --link mode;
#   and, for tables owned by an application role,
#   pg_restore --use-set-session-authorization.
# Each is compared with its source by test/backup/snapshot.sql (every row of
# every table by column name, sequence positions, definitions, grants, enum
# label order, the extension's members), then the guard and the audit must
# work: a duplicate refused with the descriptive error, a new batch audited
# with the next event id, a superuser's COPY checked and audited.
#
# Then the limits (test/backup/limits.sh), which are PostgreSQL's own for any
# extension: pg_dump -n / -t, a restore by a role that may not create the
# extension, --data-only without --disable-triggers, --enable-row-security,
# and a session that sets row_security = off itself. What happens is asserted,
# and each restore's distinct errors are printed as TAP diagnostics ("# ...").
#
# Runs against the cluster in PGHOST/PGPORT/PGUSER (test/suites.sh runs it
# under pg_virtualenv); makes its own clusters for pg_upgrade. Prints TAP;
# exits non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
sql=$here/backup
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
user=${PGUSER:-$(id -un)}
export PGTZ=UTC

n=0 failures=0 why=""
check() { # check STATUS DESCRIPTION; prints $why as diagnostics on failure
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $n - $2"
  else
    echo "not ok $n - $2"
    failures=$((failures + 1))
    [ -n "$why" ] && printf '%s\n' "$why" | head -n 15 | sed 's/^/#   /'
  fi
  why=""
}
note() { printf '%s\n' "$@" | sed 's/^/# /'; }
q() { psql -X -q -tA -v ON_ERROR_STOP=1 -d "$1" -c "$2"; } # q CONNINFO SQL
errors_of() { grep -E '(ERROR|FATAL|error):' "$1" | sed -E 's/^.*(ERROR|FATAL|error): +//' | sort | uniq -c | sed -E 's/^ +//'; }

tmp=$(mktemp -d /tmp/irp_batch_backup.XXXXXX)
chmod 755 "$tmp"
clusters=()
cleanup() {
  for d in "${clusters[@]}"; do
    [ -f "$d/postmaster.pid" ] && "$bindir/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1
  done
  drop_all
  rm -rf "$tmp"
}
drop_all() {
  for db in $(psql -X -tA -d postgres -c "SELECT datname FROM pg_database WHERE datname LIKE 'irp\_bk\_%'" 2>/dev/null); do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  done
  for r in irp_backup_app irp_backup_restorer; do
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1
  done
}
trap cleanup EXIT
drop_all

# ---------------------------------------------------------------------------
# Sources

# setup_sources PREFIX WHERE: builds irp_bk_fresh and irp_bk_adopted in the
# cluster that the conninfo PREFIX names.
setup_sources() {
  local p=$1 where=$2
  q "${p}dbname=postgres" "CREATE ROLE irp_backup_app" >/dev/null
  q "${p}dbname=postgres" "CREATE DATABASE irp_bk_fresh" >/dev/null
  q "${p}dbname=postgres" "CREATE DATABASE irp_bk_adopted" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -d "${p}dbname=irp_bk_fresh" -f "$sql/fresh.sql" -f "$sql/dba.sql" \
    >"$tmp/setup.log" 2>&1
  local s=$?; why=$(errors_of "$tmp/setup.log")
  check $s "$where: the fresh source: creates, duplicates, cancels, status changes, a deletion, an application role's changes, the DBA's changes"
  psql -X -q -v ON_ERROR_STOP=1 -d "${p}dbname=irp_bk_adopted" -f "$here/fixtures/init_database.sql" \
    -f "$here/fixtures/irp_data.sql" -f "$sql/adopted.sql" -f "$sql/dba.sql" >"$tmp/setup.log" 2>&1
  s=$?; why=$(errors_of "$tmp/setup.log")
  check $s "$where: the adopted source: the duplicate resolved as README says, adopted, activity, the DBA's changes"
  for db in irp_bk_fresh irp_bk_adopted; do
    # An intentional duplicate stored before its original in the table (so in
    # the dump too).
    local pair
    pair=$(q "${p}dbname=$db" "SELECT d.id || ' before ' || o.id FROM irp_batch d JOIN irp_batch o ON o.id = d.duplicate_of
                               WHERE d.ctid < o.ctid ORDER BY d.id LIMIT 1")
    [ -n "$pair" ]
    check $? "$where: ${db#irp_bk_}: an intentional duplicate is stored before its original (${pair:-none})"
  done
}

# snapshot CONNINFO FILE: everything that must come back (test/backup/snapshot.sql)
snapshot() {
  psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$sql/snapshot.sql" >"$2" 2>"$2.err"
}
# next_id SNAPSHOT SEQUENCE: the value the sequence gives next
next_id() { awk -v s="$2" '$1 == "seqpos" && $2 == s { print ($4 == "true" ? $3 + 1 : $3) }' "$1"; }
# same KINDS SRC DST: the lines of those kinds are equal (diff in $why)
same() {
  if ! grep -qE "^($1) " "$2"; then why="the source has no line of this kind: its snapshot failed"; return 1; fi
  why=$(diff <(grep -E "^($1) " "$2") <(grep -E "^($1) " "$3"); cat "$3.err")
  [ -z "$why" ]
}

# has_dba_changes LABEL SNAPSHOT: the source has what the comparisons must find
# again (so that they cannot pass by both sides lacking it)
has_dba_changes() {
  local also=""
  why=""
  for fact in 'col irp_batch.cost_centre text' 'view irp_batch_overview ' 'idx CREATE INDEX irp_batch_cost_centre_idx ' \
              'idx CREATE INDEX irp_job_created_idx ' 'acl relation irp_batch_event postgres>irp_backup_app:SELECT' \
              'enum batch_status_enum INITIATED,ACTIVE,ON_HOLD,COMPLETED,' 'enum job_status_enum INITIATED,SUBMITTED,QUEUED,PENDING,RETRYING,RUNNING,' \
              'con irp_batch_invoice.irp_batch_invoice_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES public.irp_batch(id)' \
              'row irp_batch_invoice ' 'trg irp_batch CREATE TRIGGER irp_batch_guard ' 'ext irp_batch '; do
    grep -qF -- "$fact" "$2" || why+="missing: $fact"$'\n'
  done
  case $1 in *adopted)
    for fact in 'view irp_job_workflow ' 'row irp_batch_result ' 'col irp_batch.created_ts timestamp without time zone' \
                'col irp_batch.batch_key text' 'CANCELLED,ERROR' \
                'con irp_batch_result.irp_batch_result_batch_id_fkey FOREIGN KEY (batch_id) REFERENCES public.irp_batch(id)'; do
      grep -qF -- "$fact" "$2" || why+="missing: $fact"$'\n'
    done
    also="; the helpers' TIMESTAMP, generated and own columns, ERROR label, irp_batch_result and view" ;;
  esac
  [ -z "$why" ]
  check $? "$1: the source has the DBA's column, view, indexes, referencing table, grant and labels, and the guard$also"
}

# verify LABEL KIND SRC_SNAPSHOT CONNINFO: the restored database equals its
# source, and the guard and the audit work.
verify() {
  local label=$1 kind=$2 src=$3 c=$4
  local dst=$tmp/snap.$RANDOM
  snapshot "$c" "$dst"
  local rows tables events
  rows=$(grep -c '^row ' "$src"); tables=$(grep '^row ' "$src" | cut -d' ' -f2 | sort -u | wc -l)
  events=$(grep -c '^row irp_batch_event ' "$src")
  same 'row' "$src" "$dst"
  check $? "$label: every row of every table, by column name ($rows rows in $tables tables)"
  same 'row irp_batch_event' "$src" "$dst"
  check $? "$label: the audit trail: its $events events, none added or lost"
  same 'seqpos' "$src" "$dst"
  check $? "$label: every sequence's position (last_value, is_called)"
  same 'rel|col|con|idx|trg|view|seqdef|comment' "$src" "$dst"
  check $? "$label: the definitions: columns (the DBA's too), constraints, indexes (the DBA's too), triggers, views, comments"
  same 'acl' "$src" "$dst"
  check $? "$label: the grants (the DBA's GRANT SELECT ON irp_batch_event too)"
  same 'enum' "$src" "$dst"
  check $? "$label: the enums' labels, in their order (ON_HOLD before COMPLETED, RETRYING before RUNNING)"
  same 'ext|member|evt|func' "$src" "$dst"
  check $? "$label: the extension: version, members, event trigger, functions"
  guard_checks "$label" "$kind" "$src" "$c"
}

# guard_checks LABEL KIND SRC_SNAPSHOT CONNINFO: the guard and the audit work:
# a new batch gets the next ids, a duplicate (by the function or a superuser's
# COPY with ids) gets the descriptive error, a COPY is audited, the audit
# trail stays closed to the application role.
guard_checks() {
  local label=$1 kind=$2 src=$3 c=$4
  local cfg step
  if [ "$kind" = fresh ]; then cfg=42 step=3; else cfg=2 step=2; fi
  local nb ne out
  nb=$(next_id "$src" irp_batch_id_seq); ne=$(next_id "$src" irp_batch_event_id_seq)
  out=$(psql -X -q -tA -v ON_ERROR_STOP=1 -d "$c" -c "SET ROLE irp_backup_app" \
          -c "SELECT irp_create_batch('RESTORED', $cfg, $step, jobs => '[{\"x\": 1}]')" \
          -c "RESET ROLE" \
          -c "SELECT concat_ws(' ', id, event, batch_id, actor) FROM irp_batch_event ORDER BY id DESC LIMIT 1" 2>&1)
  why=$out
  [ "$out" = "$nb
$ne CREATED $nb irp_backup_app" ]
  check $? "$label: an application role creates batch $nb, audited by event $ne, right after the restored ones"
  out=$(psql -X -q -d "$c" -c "SELECT irp_create_batch('EDM_CREATION', $cfg, $step)" 2>&1)
  why=$out
  grep -q "Active batch already exists for configuration $cfg" <<<"$out"
  check $? "$label: the guard refuses a duplicate: \"Active batch already exists for configuration $cfg ...\""
  out=$(printf '900\t%s\t%s\tEDM_CREATION\n' "$step" "$cfg" |
          psql -X -q -d "$c" -c "COPY irp_batch (id, step_id, configuration_id, batch_type) FROM STDIN" 2>&1)
  why=$out
  grep -q "Active batch already exists for configuration $cfg" <<<"$out"
  check $? "$label: a superuser's COPY with ids of a duplicate gets the descriptive error"
  out=$(printf '900\t%s\t%s\tCOPIED\n' "$step" "$cfg" |
          psql -X -q -v ON_ERROR_STOP=1 -d "$c" -c "COPY irp_batch (id, step_id, configuration_id, batch_type) FROM STDIN" 2>&1 &&
        q "$c" "SELECT count(*) FROM irp_batch_event WHERE batch_id = 900 AND event = 'CREATED'" 2>&1)
  why=$out
  [ "$out" = 1 ]
  check $? "$label: a superuser's COPY with ids of a new batch is audited"
  out=$(psql -X -q -d "$c" -c "SET ROLE irp_backup_app" \
          -c "INSERT INTO irp_batch_event (batch_id, event, actor) VALUES (1, 'FORGED', 'x')" 2>&1)
  why=$out
  grep -q "permission denied" <<<"$out"
  check $? "$label: the application role still cannot write the audit trail"
}

# restored LABEL STATUS LOG: the restore ran without an error
restored() {
  why=$(errors_of "$3")
  [ "$2" -eq 0 ] && [ -z "$why" ]
  check $? "$1: no errors"
}

# ---------------------------------------------------------------------------
# The matrix on this cluster

setup_sources "" "this cluster"
for kind in fresh adopted; do
  src=irp_bk_$kind
  snapshot "dbname=$src" "$tmp/$kind.snap"
  s=$?; why=$(cat "$tmp/$kind.snap.err")
  check $s "$kind: the snapshot of the source ($(wc -l <"$tmp/$kind.snap") facts)"
  has_dba_changes "$kind" "$tmp/$kind.snap"
  d=$tmp/$kind
  pg_dump -Fc -d "$src" -f "$d.fc" 2>"$d.fc.log" && pg_dump -Fd -d "$src" -f "$d.dir" 2>"$d.dir.log" &&
    pg_dump -d "$src" -f "$d.sql" 2>"$d.sql.log" && pg_dump --inserts -d "$src" -f "$d.inserts.sql" 2>"$d.inserts.log"
  s=$?; why=$(cat "$d".*log)
  check $s "$kind: pg_dump -Fc, -Fd, plain and --inserts"

  for variant in fc fd_j4 fc_1 no_owner plain plain_1 inserts split; do
    dst=irp_bk_${kind}_$variant
    q "dbname=postgres" "CREATE DATABASE $dst" >/dev/null
    log=$tmp/$dst.log
    case $variant in
      fc)      label="pg_dump -Fc, pg_restore"
               pg_restore -d "$dst" "$d.fc" >"$log" 2>&1 ;;
      fd_j4)   label="pg_dump -Fd, pg_restore -j 4"
               pg_restore -j 4 -d "$dst" "$d.dir" >"$log" 2>&1 ;;
      fc_1)    label="pg_restore -1"
               pg_restore -1 -d "$dst" "$d.fc" >"$log" 2>&1 ;;
      no_owner) label="pg_restore --no-owner"
               pg_restore --no-owner -d "$dst" "$d.fc" >"$log" 2>&1 ;;
      plain)   label="pg_dump, psql -f"
               psql -X -q -v ON_ERROR_STOP=1 -d "$dst" -f "$d.sql" >"$log" 2>&1 ;;
      plain_1) label="psql -1 -f"
               psql -X -q -1 -v ON_ERROR_STOP=1 -d "$dst" -f "$d.sql" >"$log" 2>&1 ;;
      inserts) label="pg_dump --inserts, psql -f"
               psql -X -q -v ON_ERROR_STOP=1 -d "$dst" -f "$d.inserts.sql" >"$log" 2>&1 ;;
      split)   label="pg_restore --schema-only, then --data-only --disable-triggers"
               pg_restore --schema-only -d "$dst" "$d.fc" >"$log" 2>&1 &&
                 pg_restore --data-only --disable-triggers -d "$dst" "$d.fc" >>"$log" 2>&1 ;;
    esac
    s=$?
    restored "$kind: $label" $s "$log"
    verify "$kind: $label" "$kind" "$tmp/$kind.snap" "dbname=$dst"
  done
done

# ---------------------------------------------------------------------------
# pg_upgrade, same major version: an old cluster with both databases built
# natively, upgraded in copy mode and (from a copy of it) in --link mode.

up=$tmp/upgrade
mkdir -p "$up"
initdb_opts=(--encoding=UTF8 --locale=C.UTF-8 --username="$user" --auth=trust --no-sync)
port=$(( (${PGPORT:-5432} + 100) % 60000 + 1024 ))
free_port() { # a port no socket of ours or the main cluster's uses
  port=$((port + 1))
  while [ -e "$up/.s.PGSQL.$port" ] || [ "$port" = "${PGPORT:-5432}" ]; do port=$((port + 1)); done
  echo "$port"
}
start_cluster() { # start_cluster DIR PORT
  clusters+=("$1")
  "$bindir/pg_ctl" -D "$1" -w -l "$1.log" \
    -o "-c listen_addresses='' -c unix_socket_directories='$up' -p $2 -c fsync=off" start >/dev/null
}
stop_cluster() { "$bindir/pg_ctl" -D "$1" -w -m fast stop >/dev/null; }

"$bindir/initdb" -D "$up/old" "${initdb_opts[@]}" >"$up/initdb.log" 2>&1
s=$?; why=$(tail -n 5 "$up/initdb.log")
check $s "pg_upgrade: initdb an old cluster (UTF8, C.UTF-8)"
old_port=$(free_port)
start_cluster "$up/old" "$old_port"
check $? "pg_upgrade: start the old cluster"
old="host=$up port=$old_port user=$user "
setup_sources "$old" "old cluster"
for kind in fresh adopted; do
  snapshot "${old}dbname=irp_bk_$kind" "$tmp/old.$kind.snap"
  s=$?; why=$(cat "$tmp/old.$kind.snap.err")
  check $s "old cluster: $kind: the snapshot of the source ($(wc -l <"$tmp/old.$kind.snap") facts)"
  has_dba_changes "old cluster: $kind" "$tmp/old.$kind.snap"
done
stop_cluster "$up/old"
cp -a "$up/old" "$up/oldlink"
for mode in copy link; do
  if [ "$mode" = copy ]; then from=old to=new flag=(); else from=oldlink to=newlink flag=(--link); fi
  "$bindir/initdb" -D "$up/$to" "${initdb_opts[@]}" >"$up/initdb.log" 2>&1
  (cd "$up" && "$bindir/pg_upgrade" -b "$bindir" -B "$bindir" -d "$from" -D "$to" -U "$user" \
     -p "$(free_port)" -P "$(free_port)" --socketdir="$up" "${flag[@]}" >"$up/$mode.log" 2>&1)
  s=$?
  why=$(grep -iE 'error|fatal|failure|could not' "$up/$mode.log"; ls "$up/$to"/pg_upgrade_output.d/*/log/* 2>/dev/null)
  check $s "pg_upgrade ${flag[*]:-(copy mode)}: no errors"
  p=$(free_port)
  start_cluster "$up/$to" "$p"
  for kind in fresh adopted; do
    verify "$kind: pg_upgrade ${flag[*]:-(copy mode)}" "$kind" "$tmp/old.$kind.snap" "host=$up port=$p user=$user dbname=irp_bk_$kind"
  done
  stop_cluster "$up/$to"
done

# ---------------------------------------------------------------------------
# Tables owned by an application role (as adopted helper tables often are),
# restored with pg_restore --use-set-session-authorization: the dump's
# CREATE TRIGGER then runs as that owner, which needs EXECUTE on the
# extension's trigger functions.
psql -X -q -d postgres -c "CREATE ROLE irp_backup_owner LOGIN" >/dev/null 2>&1
psql -X -q -d postgres -c "CREATE DATABASE irp_bk_owned" -c "CREATE DATABASE irp_bk_owned_ssa" \
     -c "GRANT CREATE ON DATABASE irp_bk_owned_ssa TO irp_backup_owner" >/dev/null
q irp_bk_owned "CREATE SCHEMA irp AUTHORIZATION irp_backup_owner"
q irp_bk_owned "CREATE EXTENSION irp_batch SCHEMA irp" >/dev/null
q irp_bk_owned "ALTER TABLE irp.irp_batch OWNER TO irp_backup_owner; ALTER TABLE irp.irp_job OWNER TO irp_backup_owner;
                ALTER TYPE irp.batch_status_enum OWNER TO irp_backup_owner; ALTER TYPE irp.job_status_enum OWNER TO irp_backup_owner"
q irp_bk_owned "SELECT irp.irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{\"edm\": \"A\"}]')" >/dev/null
pg_dump -Fc -f "$tmp/owned.fc" -d irp_bk_owned
pg_restore --use-set-session-authorization -d irp_bk_owned_ssa "$tmp/owned.fc" >"$tmp/owned.log" 2>&1
s=$?; why=$(errors_of "$tmp/owned.log")
check $s "tables owned by an application role: pg_restore --use-set-session-authorization: no errors"
[ "$(q irp_bk_owned_ssa "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                           WHERE c.relnamespace = 'irp'::regnamespace AND NOT t.tgisinternal")" = 9 ]
check $? "tables owned by an application role: the nine triggers are restored (their owner may attach them)"
psql -X -q -d irp_bk_owned_ssa -c "SELECT irp.irp_create_batch('EDM_CREATION', 42, 3)" 2>&1 \
  | grep -q "Active batch already exists for configuration 42"
check $? "tables owned by an application role: the restored guard refuses a duplicate"
psql -X -q -d postgres -c "DROP DATABASE irp_bk_owned" -c "DROP DATABASE irp_bk_owned_ssa" \
     -c "DROP ROLE irp_backup_owner" >/dev/null 2>&1

# ---------------------------------------------------------------------------
# Limits (PostgreSQL's own, for any extension): what happens, asserted and
# described.
. "$sql/limits.sh"

drop_all
echo "1..$n"
[ "$failures" -eq 0 ]
