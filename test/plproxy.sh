#!/usr/bin/env bash
# Scale-out with PL/Proxy (examples/plproxy, docs/scaling.md): a router
# database and two shard databases in the cluster of libpq's environment
# (PGHOST, PGPORT, PGUSER, PGPASSWORD; make test: the cluster pg_virtualenv
# started), as a superuser. Checks that every call reaches the shard of its
# configuration (cancel: of its batch id), that the guard works on each shard,
# that listings come from the right shard, that shard errors keep their
# SQLSTATE and that the Python client still tells a duplicate from them, that
# a router rollback leaves a shard's committed call, that the shards refuse a
# misrouted batch, that irp_router.check_cluster() catches a misconfigured
# cluster and PL/Proxy a partition count that is not a power of two, what an
# unreachable shard looks like through the router, that the router's API has
# the shards' signatures and request_id retries reach their batch, and that
# a shard's identity survives pg_dump and restore.
#
# Creates and drops the databases irp_pp_router, irp_pp_shard_0,
# irp_pp_shard_1, irp_pp_shard_1_fc and irp_pp_shard_1_sql. By hand:
#   runuser -u postgres -- pg_virtualenv -t -v 15 bash test/plproxy.sh
# Needs Debian's postgresql-15-plproxy and python3-psycopg.
#
# PLPROXY_BREAK=NAME[,NAME...] removes protections after the setup, to see
# the checks that depend on them fail:
#   route_by_step     the router routes creates by step_id, not configuration_id
#   cancel_by_config  the router routes cancel by the id as if it were a configuration
#   no_shard_checks   the shards lack their two CHECK constraints
#   plain_ids         shard 1 numbers its batches 1, 2, 3, ... (INCREMENT BY 1)
#   old_client        the Python client of before PL/Proxy (duplicates told by constraint name)
#
# Prints TAP ("ok N - ..." / "not ok N - ..."), "1..N" at the end; exits
# non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

PYTHON=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
ROUTER=irp_pp_router
SHARDS=(irp_pp_shard_0 irp_pp_shard_1)
RESTORED=(irp_pp_shard_1_fc irp_pp_shard_1_sql)
BREAK=${PLPROXY_BREAK:-}

tmp=$(mktemp -d /tmp/irp_plproxy.XXXXXX)
drop_databases() {
  for db in "$ROUTER" "${SHARDS[@]}" "${RESTORED[@]}"; do
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" > /dev/null 2>&1
  done
}
trap 'rm -rf "$tmp"; drop_databases' EXIT

n=0
failures=0
tap() {  # tap STATUS DESCRIPTION [DIAGNOSTIC]: STATUS 0 is ok
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $n - $2"
  else
    echo "not ok $n - $2"
    failures=$((failures + 1))
    [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
  fi
  return 0
}
check() {  # check DESCRIPTION EXPECTED GOT
  if [ "$2" == "$3" ]; then tap 0 "$1"; else tap 1 "$1" "expected: $2"$'\n'"got:      $3"; fi
}
matches() {  # matches DESCRIPTION PATTERN GOT: GOT has a line matching the extended regex PATTERN
  if grep -qE -- "$2" <<< "$3"; then tap 0 "$1"; else tap 1 "$1" "no line matches: $2"$'\n'"got: $3"; fi
}
# sql DB STATEMENT...: unaligned output, errors with their SQLSTATE ("ERROR:  23505: ...")
sql() {
  local db=$1
  shift
  local args=()
  for s in "$@"; do args+=(-c "$s"); done
  psql -X -At -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" "${args[@]}" 2>&1 | grep -v -E '^(LOCATION|NOTICE):'
}
router() { sql "$ROUTER" "$@"; }
shard() { local s=$1; shift; sql "${SHARDS[$s]}" "$@"; }
id_shard() { if [[ $1 =~ ^[0-9]+$ ]]; then echo $(( ($1 - 1) % 2 )); else echo "$1"; fi; }  # the shard an id names

#
# Setup: two shards (CREATE EXTENSION irp_batch SCHEMA irp, then shard.sql),
# the router (router.sql), the cluster definition.
#
drop_databases
out=$(
  set -e
  for s in 0 1; do
    createdb "${SHARDS[$s]}"
    psql -X -q -v ON_ERROR_STOP=1 -d "${SHARDS[$s]}" -c 'CREATE SCHEMA irp' -c 'CREATE EXTENSION irp_batch SCHEMA irp'
    psql -X -q -v ON_ERROR_STOP=1 -d "${SHARDS[$s]}" -v shard=$s -v shards=2 -f examples/plproxy/shard.sql
  done
  createdb "$ROUTER"
  psql -X -q -v ON_ERROR_STOP=1 -d "$ROUTER" -f examples/plproxy/router.sql
  # The shards are databases of this cluster; PL/Proxy connects with the
  # user mapping's user and password.
  psql -X -q -v ON_ERROR_STOP=1 -d "$ROUTER" \
       -v conn0="host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=${SHARDS[0]}" \
       -v conn1="host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=${SHARDS[1]}" \
       -v user="${PGUSER:-$(id -un)}" -v password="${PGPASSWORD:-}" <<'SQL'
CREATE SERVER irp_shards FOREIGN DATA WRAPPER plproxy OPTIONS (p0 :'conn0', p1 :'conn1');
CREATE USER MAPPING FOR CURRENT_USER SERVER irp_shards OPTIONS (user :'user', password :'password');
SQL
) 2>&1
tap $? "router $ROUTER and shards ${SHARDS[*]} set up with examples/plproxy" "$out"
check "irp_router.check_cluster(): partition p is shard p of 2" "0|0|2
1|1|2" "$(router "SELECT partition, shard, shards FROM irp_router.check_cluster()")"
seqs="SELECT start_value || ' ' || increment_by FROM pg_sequences WHERE schemaname = 'irp' AND sequencename = 'irp_batch_id_seq'"
check "the shards' id sequences: START WITH 1 and 2, INCREMENT BY 2" "1 2|2 2" "$(shard 0 "$seqs")|$(shard 1 "$seqs")"

# Configurations of each shard: the first ids from 40 up that map there.
mapfile -t on0 < <(router "SELECT c FROM generate_series(40, 400) c
                            WHERE irp_router.configuration_partition(c) % 2 = 0 ORDER BY c LIMIT 3")
mapfile -t on1 < <(router "SELECT c FROM generate_series(40, 400) c
                            WHERE irp_router.configuration_partition(c) % 2 = 1 ORDER BY c LIMIT 3")
check "configurations map to both shards" "3 3" "${#on0[@]} ${#on1[@]}"
A=${on0[0]:-0} B=${on1[0]:-0}   # one configuration on each shard

#
# Breaking a protection on purpose (PLPROXY_BREAK)
#
for b in ${BREAK//,/ }; do
case "$b" in
  route_by_step)
    router "CREATE OR REPLACE FUNCTION irp.irp_create_batch(batch_type text, configuration_id integer, step_id integer,
              allow_duplicate boolean DEFAULT false, jobs jsonb DEFAULT NULL, request_id uuid DEFAULT NULL) RETURNS integer LANGUAGE plproxy
              AS \$\$ CLUSTER 'irp_shards'; RUN ON irp_router.configuration_partition(step_id); \$\$" ;;
  cancel_by_config)
    router "CREATE OR REPLACE FUNCTION irp.irp_cancel_batch(batch_id integer, reason text DEFAULT 'Cancelled by user')
              RETURNS boolean LANGUAGE plproxy
              AS \$\$ CLUSTER 'irp_shards'; RUN ON irp_router.configuration_partition(batch_id); \$\$" ;;
  no_shard_checks)
    for s in 0 1; do
      shard $s "ALTER TABLE irp.irp_batch DROP CONSTRAINT irp_batch_shard_id_check,
                                          DROP CONSTRAINT irp_batch_shard_configuration_check"
    done ;;
  plain_ids)
    shard 1 "ALTER TABLE irp.irp_batch DROP CONSTRAINT irp_batch_shard_id_check" \
            "ALTER SEQUENCE irp.irp_batch_id_seq INCREMENT BY 1 START WITH 1 RESTART WITH 1" ;;
  old_client) ;;  # below
  *) tap 1 "PLPROXY_BREAK=$b is known" ;;
esac
done
[ -n "$BREAK" ] && echo "# PLPROXY_BREAK=$BREAK: some checks below must fail"

#
# Creates land on the shard of their configuration, with their jobs
#
a1=$(router "SELECT irp.irp_create_batch('EDM_CREATION', $A, 3, false, '[{\"edm\": \"A\"}, {\"edm\": \"B\"}]')")
b1=$(router "SELECT irp.irp_create_batch('EDM_CREATION', $B, 3, false, '[{\"edm\": \"C\"}]')")
check "create for configuration $A (shard 0) returns an id of shard 0 ((id - 1) % 2 = 0)" "0" \
  "$(id_shard "$a1")"
check "create for configuration $B (shard 1) returns an id of shard 1" "1" "$(id_shard "$b1")"
check "shard 0 holds batch $a1 of configuration $A with its 2 jobs, shard 1 none of it" "$A EDM_CREATION 2|0" \
  "$(shard 0 "SELECT b.configuration_id || ' ' || b.batch_type || ' ' || (SELECT count(*) FROM irp.irp_job j WHERE j.batch_id = b.id)
              FROM irp.irp_batch b WHERE b.id = $a1")|$(shard 1 "SELECT count(*) FROM irp.irp_batch WHERE configuration_id = $A")"
check "shard 1 holds batch $b1 of configuration $B with its job, shard 0 none of it" "$B EDM_CREATION 1|0" \
  "$(shard 1 "SELECT b.configuration_id || ' ' || b.batch_type || ' ' || (SELECT count(*) FROM irp.irp_job j WHERE j.batch_id = b.id)
              FROM irp.irp_batch b WHERE b.id = $b1")|$(shard 0 "SELECT count(*) FROM irp.irp_batch WHERE configuration_id = $B")"

#
# The guard, on each shard, through the router
#
for s in 0 1; do
  if [ $s -eq 0 ]; then c=$A id=$a1; else c=$B id=$b1; fi
  out=$(router "SELECT irp.irp_create_batch('EDM_CREATION', $c, 4)")
  matches "shard $s's guard refuses a second EDM_CREATION batch for configuration $c (created with another step), SQLSTATE 23505 kept" \
    "^ERROR:  23505: irp\.irp_create_batch\(6\): \[${SHARDS[$s]}\] REMOTE ERROR: Active batch already exists for configuration $c and batch_type 'EDM_CREATION': Batch ID $id \(status: INITIATED\)$" "$out"
  check "configuration $c still has one batch, on shard $s only" "1 0" \
    "$(sql "${SHARDS[$s]}" "SELECT count(*) FROM irp.irp_batch WHERE configuration_id = $c") $(sql "${SHARDS[$((1 - s))]}" "SELECT count(*) FROM irp.irp_batch WHERE configuration_id = $c")"
done
b2=$(router "SELECT irp.irp_create_batch('EDM_CREATION', $B, 3, true)")
check "allow_duplicate through the router: an intentional duplicate of batch $b1 on shard 1" "$B|$b1" \
  "$(shard 1 "SELECT configuration_id || '|' || duplicate_of FROM irp.irp_batch WHERE id = ${b2:-0}" 2>&1)"
check "irp_ensure_batch through the router returns shard 0's active batch, created false" "$a1|false" \
  "$(router "SELECT batch_id || '|' || created FROM irp.irp_ensure_batch('EDM_CREATION', $A, 3)")"
e1=$(router "SELECT batch_id || '|' || created FROM irp.irp_ensure_batch('PORTFOLIO_CREATION', $B, 3, '[{\"p\": 1}]')")
check "irp_ensure_batch through the router creates on shard 1 when the key has no batch" "1|true|PORTFOLIO_CREATION 1" \
  "$(id_shard "${e1%%|*}")|${e1#*|}|$(shard 1 "SELECT b.batch_type || ' ' || (SELECT count(*) FROM irp.irp_job j WHERE j.batch_id = b.id) FROM irp.irp_batch b WHERE b.id = ${e1%%|*}")"

#
# Listings come from the configuration's shard
#
for c in "$A" "$B"; do
  s=$(router "SELECT irp_router.configuration_partition($c) % 2")
  list="SELECT id, batch_type, status, job_count, duplicate_of FROM irp.irp_get_active_batches_for_config($c)"
  direct=$(sql "${SHARDS[$s]}" "$list")
  check "irp_get_active_batches_for_config($c) through the router is shard $s's answer" "$direct" "$(router "$list")"
  pre="SELECT batch_type, batch_id, status, created_by, job_count, duplicate_of FROM irp.irp_batch_preflight($c, '{EDM_CREATION,PORTFOLIO_CREATION,ANALYSIS}')"
  check "irp_batch_preflight($c, ...) through the router is shard $s's answer" "$(sql "${SHARDS[$s]}" "$pre")" "$(router "$pre")"
done
check "configuration $B lists its 3 active batches through the router" "3" \
  "$(router "SELECT count(*) FROM irp.irp_get_active_batches_for_config($B)")"

#
# Cancel by id goes to the shard the id names
#
check "irp_cancel_batch($b1) through the router cancels shard 1's batch and its job" "t|CANCELLED|CANCELLED" \
  "$(router "SELECT irp.irp_cancel_batch($b1, 'routed')")|$(shard 1 "SELECT status FROM irp.irp_batch WHERE id = $b1")|$(shard 1 "SELECT string_agg(DISTINCT status::text, ',') FROM irp.irp_job WHERE batch_id = $b1")"
check "irp_cancel_batch($a1) through the router cancels shard 0's batch" "t|CANCELLED|INITIATED" \
  "$(router "SELECT irp.irp_cancel_batch($a1, 'routed')")|$(shard 0 "SELECT status FROM irp.irp_batch WHERE id = $a1")|$(shard 1 "SELECT status FROM irp.irp_batch WHERE id = ${b2:-0}")"
check "shard 1's cancellation is audited with the reason" "CANCELLED routed" \
  "$(shard 1 "SELECT event || ' ' || reason FROM irp.irp_batch_event WHERE batch_id = $b1 AND event = 'CANCELLED'")"
check "cancelling it again through the router returns false" "f" "$(router "SELECT irp.irp_cancel_batch($b1)")"
matches "an unknown batch: SQLSTATE P0002 from the shard" \
  "^ERROR:  P0002: irp\.irp_cancel_batch\(2\): \[irp_pp_shard_[01]\] REMOTE ERROR: Batch 999999 not found$" \
  "$(router "SELECT irp.irp_cancel_batch(999999)")"
matches "a NULL configuration_id: SQLSTATE 22004 from the shard, not a routing error" \
  "^ERROR:  22004: .* REMOTE ERROR: configuration_id must not be null$" \
  "$(router "SELECT irp.irp_create_batch('EDM_CREATION', NULL, 3)")"
matches "a NULL batch id: SQLSTATE 22004 from the shard" "^ERROR:  22004: .* REMOTE ERROR: batch_id must not be null$" \
  "$(router "SELECT irp.irp_cancel_batch(NULL)")"

#
# The shards refuse what the routing would not send them
#
out=$(shard 1 "SELECT irp.irp_create_batch('ANALYSIS', $A, 3)")
matches "shard 1 refuses a batch of configuration $A, which is shard 0's (23514)" \
  "^ERROR:  23514: .*irp_batch_shard_configuration_check" "$out"
out=$(shard 0 "INSERT INTO irp.irp_batch (id, step_id, configuration_id, batch_type, status) VALUES (1000, 3, ${on0[1]:-0}, 'ANALYSIS', 'INITIATED')")
matches "shard 0 refuses a batch with an id of shard 1 (23514)" "^ERROR:  23514: .*irp_batch_shard_id_check" "$out"

#
# A rollback on the router does not undo the shard's committed call
#
C=${on1[1]:-0}
out=$(psql -X -At -q -d "$ROUTER" 2>&1 <<SQL
BEGIN;
SELECT irp.irp_create_batch('EDM_CREATION', $C, 3);
ROLLBACK;
SQL
)
check "a create inside a router transaction that rolls back stays on the shard (committed there)" "1" \
  "$(shard 1 "SELECT count(*) FROM irp.irp_batch WHERE configuration_id = $C AND id = ${out:-0}")"

#
# The Python client through the router: duplicates and unknown batches are
# recognised without the constraint name that PL/Proxy drops
#
out=$(PGDATABASE=$ROUTER $PYTHON - "$A" "$B" "$BREAK" <<'EOF' 2>&1
import sys
sys.path.insert(0, "clients/python")
import irp_batch_client as irp

A, B = int(sys.argv[1]), int(sys.argv[2])
if "old_client" in sys.argv[3].split(","):   # the client as it was: PL/Proxy's prefixes not taken off
    irp._remote = lambda text, prefix: text
irp.configure(schema="irp")
first = irp.create_batch("ANALYSIS", B, 3, jobs=[{"x": 1}])
try:
    irp.create_batch("ANALYSIS", B, 5)
    print("duplicate: no error")
except irp.DuplicateBatchError as e:
    print(f"duplicate: {e.sqlstate} {e.batch_id == first} {e.status} {e.configuration_id == B} {e.batch_type}")
except irp.BatchError as e:
    print(f"duplicate: {type(e).__name__} {e.sqlstate} {e.diag.constraint_name}")
try:
    irp.cancel_batch(999999)
    print("unknown: no error")
except irp.BatchNotFoundError as e:
    print(f"unknown: {e.sqlstate} {e.batch_id}")
except irp.BatchError as e:
    print(f"unknown: {type(e).__name__} {e.sqlstate}")
print("cancel:", irp.cancel_batch(first, reason="client"))
e1, e2 = irp.ensure_batch("ANALYSIS", A, 3), irp.ensure_batch("ANALYSIS", A, 3)
print("ensure:", e1.created, e2.created, e1.batch_id == e2.batch_id)
print("listing:", [b["batch_type"] for b in irp.get_active_batches_for_config(A)],
      [r["batch_id"] == e1.batch_id for r in irp.preflight(A, ["ANALYSIS"])])
EOF
)
matches "Python client through the router: a duplicate is a DuplicateBatchError naming the existing batch" \
  "^duplicate: 23505 True INITIATED True ANALYSIS$" "$out"
matches "Python client through the router: an unknown batch is a BatchNotFoundError with its id" \
  "^unknown: P0002 999999$" "$out"
check "Python client through the router: cancel, ensure, listing and preflight" "cancel: True
ensure: True False True
listing: ['ANALYSIS'] [True]" "$(grep -E '^(cancel|ensure|listing):' <<< "$out")"

#
# The router's API has the shards' signatures (argument names, types and
# defaults, results), so a client cannot tell them apart; router.sql run
# again replaces its functions rather than adding overloads
#
api="SELECT string_agg(p.proname || '(' || pg_get_function_arguments(p.oid) || ') ' || pg_get_function_result(p.oid), E'\n' ORDER BY p.proname)
       FROM pg_proc p WHERE p.pronamespace = 'irp'::regnamespace
        AND p.proname IN ('irp_create_batch', 'irp_ensure_batch', 'irp_cancel_batch', 'irp_get_active_batches_for_config', 'irp_batch_preflight')"
check "the router's five API functions have the shard's signatures" "$(shard 0 "$api")" "$(router "$api")"
out=$(PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$ROUTER" -f examples/plproxy/router.sql 2>&1 &&
      router "SELECT count(*) FROM pg_proc WHERE pronamespace = 'irp'::regnamespace")
check "router.sql run again: still five functions, no overloads" "5" "$out"

#
# request_id through the router: the retry of a request reaches the same
# shard and gets the batch the request created
#
R=${on0[2]:-0}
rid=$(router "SELECT gen_random_uuid()")
first=$(router "SELECT irp.irp_create_batch('EDM_CREATION', $R, 3, false, '[{\"e\": 1}]', '$rid')")
check "a create's retry with its request_id through the router returns its batch, no error" "$first" \
  "$(router "SELECT irp.irp_create_batch('EDM_CREATION', $R, 3, false, '[{\"e\": 1}]', '$rid')")"
check "... and shard 0 has that one batch, with one job" "1 1" \
  "$(shard 0 "SELECT count(*) || ' ' || (SELECT count(*) FROM irp.irp_job j JOIN irp.irp_batch b ON b.id = j.batch_id WHERE b.configuration_id = $R)
              FROM irp.irp_batch WHERE configuration_id = $R")"
check "irp_ensure_batch's retry with the request_id through the router: the same batch, created true as the first time" \
  "$first|true" "$(router "SELECT batch_id || '|' || created FROM irp.irp_ensure_batch('EDM_CREATION', $R, 3, '[{\"e\": 1}]', '$rid')")"

#
# Every configuration's batches are on one shard (what keeps the guard whole)
#
both=$(comm -12 <(shard 0 "SELECT DISTINCT configuration_id FROM irp.irp_batch ORDER BY 1" | sort) \
                <(shard 1 "SELECT DISTINCT configuration_id FROM irp.irp_batch ORDER BY 1" | sort) | tr '\n' ' ')
check "no configuration has batches on both shards" "" "$both"
active="SELECT configuration_id || ' ' || batch_type FROM irp.irp_batch WHERE status IN ('INITIATED', 'ACTIVE') AND duplicate_of IS NULL"
check "no key has two active batches across the shards" "" \
  "$( { shard 0 "$active"; shard 1 "$active"; } | sort | uniq -d | tr '\n' ' ')"

#
# Cluster definition: misordered shards and partition counts
#
out=$(router "ALTER SERVER irp_shards OPTIONS (SET p0 '$(router "SELECT substr(o, 4) FROM pg_foreign_server s, unnest(s.srvoptions) o WHERE s.srvname = 'irp_shards' AND o LIKE 'p1=%'")',
                                            SET p1 '$(router "SELECT substr(o, 4) FROM pg_foreign_server s, unnest(s.srvoptions) o WHERE s.srvname = 'irp_shards' AND o LIKE 'p0=%'")')" \
             "SELECT * FROM irp_router.check_cluster()")
matches "check_cluster() refuses shards listed out of order" "^ERROR:  22023: partition 0 of server irp_shards .* is shard 1 of 2, not shard 0 of 2$" "$out"
router "ALTER SERVER irp_shards OPTIONS (SET p0 'host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=${SHARDS[0]}',
                                         SET p1 'host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=${SHARDS[1]}')" > /dev/null
third="ADD p2 'host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=${SHARDS[0]}'"
matches "PL/Proxy refuses a third partition without modular_mapping" \
  "^HINT:  the number of partitions in a cluster must be power of 2 \(attempted 3\)$" \
  "$(router "ALTER SERVER irp_shards OPTIONS ($third)")"
out=$(router "ALTER SERVER irp_shards OPTIONS ($third, ADD modular_mapping '1')" "SELECT * FROM irp_router.check_cluster()")
matches "with modular_mapping, 3 partitions are accepted, and check_cluster() refuses shards made for 2" \
  "^ERROR:  22023: partition 0 of server irp_shards .* is shard 0 of 2, not shard 0 of 3$" "$out"
router "ALTER SERVER irp_shards OPTIONS (DROP p2, DROP modular_mapping)" > /dev/null
check "check_cluster() passes again" "2" "$(router "SELECT count(*) FROM irp_router.check_cluster()")"

# A shard the router cannot reach: PL/Proxy reports it as its own error,
# SQLSTATE XX000 (not a connection-failure 08xxx); the client sees no
# difference between "not sent" and "sent, reply lost" (docs/scaling.md).
router "ALTER SERVER irp_shards OPTIONS (SET p1 'host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=irp_pp_missing')" > /dev/null
matches "an unreachable shard: the router's error is XX000 naming the shard" \
  "^ERROR:  XX000: PL/Proxy function irp\.irp_create_batch\(6\): \[irp_pp_missing\] PQconnectPoll: " \
  "$(router "SELECT irp.irp_create_batch('ANALYSIS', $B, 3)")"
check "the other shard still answers" "$(shard 0 "SELECT count(*) FROM irp.irp_get_active_batches_for_config($A)")" \
  "$(router "SELECT count(*) FROM irp.irp_get_active_batches_for_config($A)")"
router "ALTER SERVER irp_shards OPTIONS (SET p1 'host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=${SHARDS[1]}')" > /dev/null

#
# A shard's identity survives pg_dump and restore (the tables and their
# sequences are ordinary objects: pg_dump writes INCREMENT BY, START WITH and
# the constraints)
#
D=${on1[2]:-0}
pg_dump -Fc -d "${SHARDS[1]}" -f "$tmp/shard1.dump" 2> "$tmp/dump.err"
tap $? "pg_dump -Fc of shard 1" "$(cat "$tmp/dump.err")"
pg_dump -d "${SHARDS[1]}" -f "$tmp/shard1.sql" 2>> "$tmp/dump.err"
tap $? "pg_dump of shard 1 (plain)" "$(cat "$tmp/dump.err")"
out=$({ createdb "${RESTORED[0]}" && pg_restore --exit-on-error -d "${RESTORED[0]}" "$tmp/shard1.dump" &&
        createdb "${RESTORED[1]}" && psql -X -q -v ON_ERROR_STOP=1 -d "${RESTORED[1]}" -f "$tmp/shard1.sql" > /dev/null; } 2>&1)
tap $? "restored with pg_restore into ${RESTORED[0]} and with psql -f into ${RESTORED[1]}" "$out"
rows="SELECT string_agg(b::text, '|' ORDER BY b.id) FROM irp.irp_batch b"
last=$(shard 1 "SELECT last_value FROM irp.irp_batch_id_seq")
for db in "${RESTORED[@]}"; do
  check "$db: same batches as shard 1" "$(shard 1 "$rows")" "$(sql "$db" "$rows")"
  check "$db: irp_shard.identity() is shard 1 of 2, both CHECKs are there" "1|2|2" \
    "$(sql "$db" "SELECT i.shard || '|' || i.shards || '|' || (SELECT count(*) FROM pg_constraint
                    WHERE conrelid = 'irp.irp_batch'::regclass AND conname LIKE 'irp_batch_shard_%') FROM irp_shard.identity() i")"
done
router "ALTER SERVER irp_shards OPTIONS (SET p1 'host=${PGHOST:-localhost} port=${PGPORT:-5432} dbname=${RESTORED[0]}')" > /dev/null
check "the router with ${RESTORED[0]} as partition 1 passes check_cluster()" "1|1|2" \
  "$(router "SELECT partition || '|' || shard || '|' || shards FROM irp_router.check_cluster() WHERE partition = 1")"
r1=$(router "SELECT irp.irp_create_batch('EDM_CREATION', $D, 3)")
check "a create routed to the restored shard gets the next id of shard 1's sequence" "$(( last + 2 ))" "$r1"
check "cancel by that id routes to the restored shard" "t|CANCELLED" \
  "$(router "SELECT irp.irp_cancel_batch(${r1:-0})")|$(sql "${RESTORED[0]}" "SELECT status FROM irp.irp_batch WHERE id = ${r1:-0}")"
matches "the restored shard's guard works through the router" "^ERROR:  23505: .*\[${RESTORED[0]}\] REMOTE ERROR: Active batch already exists" \
  "$(router "SELECT irp.irp_create_batch('PORTFOLIO_CREATION', $B, 3)")"

echo "1..$n"
echo "# $((n - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
