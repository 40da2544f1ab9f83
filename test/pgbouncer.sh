#!/usr/bin/env bash
# The Python client suite through pgbouncer in transaction pooling mode
# (issue 15, part 3): starts Debian's pgbouncer on a free loopback port with a
# configuration of its own in a scratch folder, pointing at the server libpq's
# environment names (make test: the cluster pg_virtualenv started), and runs
# test/python_client.sh (the pytest tests: creates, errors with their diag
# fields, ensure races, retries, and the Step 03 notebook) with PGHOST and
# PGPORT naming pgbouncer. Its TAP lines are prefixed "pgbouncer:"; then
# pgbouncer's own statistics show that the traffic went through it.
#
# As the user that runs the cluster (pgbouncer refuses root):
#   runuser -u postgres -- pg_virtualenv -t -v 15 bash test/pgbouncer.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

PGBOUNCER=/usr/sbin/pgbouncer
tmp=$(mktemp -d /tmp/irp_pgbouncer.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  for _ in $(seq 50); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -rf "$tmp"
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server_port=${PGPORT:-5432}
user=${PGUSER:-$(id -un)}
# The server's address as pgbouncer reaches it: loopback TCP, or libpq's socket folder.
case "${PGHOST:-localhost}" in
  /*) server_host=$PGHOST ;;
  *) server_host=127.0.0.1 ;;
esac

# Clients log in without a password (trust, loopback only); pgbouncer logs in
# to the server as them with the password from its auth_file.
printf '"%s" "%s"\n' "$user" "${PGPASSWORD:-}" > "$tmp/userlist.txt"
cat > "$tmp/pgbouncer.ini" <<INI
[databases]
* = host=$server_host port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $tmp/userlist.txt
admin_users = $user
pool_mode = transaction
default_pool_size = 20
max_client_conn = 200
; psycopg sends no "options"; the tests' statement_timeout and lock_timeout
; startup options are dropped here (pgbouncer would refuse the connection)
ignore_startup_parameters = options,extra_float_digits
query_wait_timeout = 120
server_tls_sslmode = disable
logfile = $tmp/pgbouncer.log
pidfile = $tmp/pgbouncer.pid
INI
chmod 600 "$tmp/userlist.txt" "$tmp/pgbouncer.ini"

echo "# $($PGBOUNCER --version | head -n 1), transaction pooling, 127.0.0.1:$port -> $server_host:$server_port"
$PGBOUNCER -d "$tmp/pgbouncer.ini" || { echo "not ok 1 - pgbouncer starts"; echo "1..1"; cat "$tmp/pgbouncer.log" | sed 's/^/# /'; exit 1; }
for _ in $(seq 100); do [ -s "$tmp/pgbouncer.pid" ] && break; sleep 0.1; done
pid=$(cat "$tmp/pgbouncer.pid" 2>/dev/null)

admin() { PGPASSWORD= psql -X -At -h 127.0.0.1 -p "$port" -U "$user" -d pgbouncer -c "$1" 2>&1; }
if [ -z "$pid" ] || ! admin "SHOW VERSION" > /dev/null; then
  echo "not ok 1 - pgbouncer starts"; echo "1..1"; sed 's/^/# /' "$tmp/pgbouncer.log"; exit 1
fi

# The suite, through pgbouncer. python_client.sh numbers its own lines; they are renumbered after it.
# LISTEN needs a session of its own, which transaction pooling cannot give: the
# client's watch() and wait_for_batches() (the tests and the notebook) LISTEN on
# the server itself, named by IRP_LISTEN_CONNINFO (configure(listen_conninfo=...)).
password=${PGPASSWORD:-}
password=${password//\\/\\\\}
listen_conninfo="host=$server_host port=$server_port user='$user' password='${password//\'/\\\'}'"
PGHOST=127.0.0.1 PGPORT=$port IRP_TEST_POOLER=pgbouncer PGPASSWORD= IRP_LISTEN_CONNINFO=$listen_conninfo \
  bash test/python_client.sh > "$tmp/suite.log" 2>&1
suite_status=$?
grep -vE '^1\.\.[0-9]+$' "$tmp/suite.log" | sed -E 's/^(not ok|ok) [0-9]+ - /\1 - pgbouncer: /' > "$tmp/suite.tap"

n=0 failures=0
while IFS= read -r line; do
  case "$line" in
    "ok - "*) n=$((n + 1)); echo "ok $n ${line#ok }" ;;
    "not ok - "*) n=$((n + 1)); failures=$((failures + 1)); echo "not ok $n ${line#not ok }" ;;
    *) echo "$line" ;;
  esac
done < "$tmp/suite.tap"

# The traffic went through pgbouncer, in transaction mode.
mode=$(admin "SHOW CONFIG" | awk -F'|' '$1 == "pool_mode" { print $2 }')
transactions=$(admin "SHOW STATS" | awk -F'|' '$1 ~ /^irp_batch_pytest_/ { t += $2 } END { print t + 0 }')
n=$((n + 1))
if [ "$mode" = transaction ] && [ "$transactions" -gt 100 ]; then
  echo "ok $n - pgbouncer served the pytest database's $transactions transactions in transaction pooling mode"
else
  failures=$((failures + 1))
  echo "not ok $n - pgbouncer served the pytest database's transactions in transaction pooling mode"
  echo "#   pool_mode: $mode, transactions: $transactions"
fi
if [ "$suite_status" -ne 0 ] && [ "$failures" -eq 0 ]; then
  n=$((n + 1)) failures=1
  echo "not ok $n - test/python_client.sh through pgbouncer exited with $suite_status"
fi
grep -E 'WARNING|ERROR|FATAL' "$tmp/pgbouncer.log" | tail -n 20 | sed 's/^/# pgbouncer.log: /'
echo "1..$n"
[ "$failures" -eq 0 ]
