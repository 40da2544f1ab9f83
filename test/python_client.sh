#!/usr/bin/env bash
# The Python client suite: clients/python installed with pip into throwaway
# virtualenvs, its pytest tests run from there, then the Step 03
# notebook (examples/Step_03_Create_Batches.ipynb) executed headless with
# nbconvert, run after run, checking the database after each.
#
# Runs against the server that libpq's environment names (PGHOST, PGPORT,
# PGUSER, PGPASSWORD; make test: the cluster pg_virtualenv started), as a
# superuser, from anywhere: it works in the folder above its own (the
# repository, or a copy of it with clients/ and examples/). It creates and
# drops the databases irp_batch_pytest_<pid>, irp_batch_pytest_<pid>_irp,
# irp_batch_pytest_<pid>_none and irp_batch_notebook. By hand:
#   runuser -u postgres -- pg_virtualenv -t -v 15 bash test/python_client.sh
# Needs Debian's python3-psycopg, python3-pytest, jupyter-nbconvert,
# python3-ipykernel, python3-venv, python3-setuptools and python3-wheel; runs
# in virtualenvs of /usr/bin/python3.
#
# Prints one TAP line per packaging check, per pytest test and per notebook check ("ok N - ..." or
# "not ok N - ..."), everything else as "# " comments, and "1..N" at the end;
# exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

PYTHON=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the tree it tests
DB=irp_batch_notebook
NOTEBOOK=examples/Step_03_Create_Batches.ipynb
CONFIG=42          # the configuration the notebook runs for
OTHER_CONFIG=43    # another configuration's batch, which the notebook must leave alone

tmp=$(mktemp -d /tmp/irp_python_client.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

n=0
failures=0
# tap STATUS DESCRIPTION [DIAGNOSTIC]: STATUS 0 is ok.
tap() {
  n=$((n + 1))
  local description=${2//#/}
  if [ "$1" -eq 0 ]; then
    echo "ok $n - $description"
  else
    echo "not ok $n - $description"
    failures=$((failures + 1))
    [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
  fi
  return 0
}
# check DESCRIPTION EXPECTED GOT: ok if equal, else shows both.
check() {
  if [ "$2" == "$3" ]; then tap 0 "$1"; else tap 1 "$1" "expected: $2"$'\n'"got:      $3"; fi
}
comment() { sed 's/^/# /'; }

#
# The package, installed as its users install it: pip, into throwaway
# virtualenvs made with --system-site-packages (psycopg, pytest, nbconvert and
# ipykernel are Debian's), offline (--no-index; --no-build-isolation builds
# with Debian's python3-setuptools and python3-wheel). Once from the source
# folder, once from a wheel built from it; the tests and the notebook then run
# on the wheel's virtualenv, from a folder that holds no copy of the client.
#
echo "# pip install ./clients/python into throwaway virtualenvs"
cp -rL clients/python "$tmp/client-src"   # a copy: pip builds in the folder it is given
client_version=$(sed -n 's/^version = "\(.*\)"/\1/p' clients/python/pyproject.toml)
pip_quiet=(--quiet --disable-pip-version-check --no-input --no-index)

# installed VENV DESCRIPTION: the venv imports irp_batch_client, with py.typed,
# from its own site-packages, at the version pyproject.toml says.
installed() {
  local out status
  out=$("$tmp/$1/bin/python" - "$tmp/$1" "$client_version" 2>&1 <<'EOF'
import importlib.metadata
import pathlib
import sys

import irp_batch_client

venv, expected = pathlib.Path(sys.argv[1]).resolve(), sys.argv[2]
package = pathlib.Path(irp_batch_client.__file__).resolve().parent
problems = []
if venv not in package.parents:
    problems.append(f"imported from {package}, outside {venv}")
if not (package / "py.typed").is_file():
    problems.append(f"no py.typed in {package}")
version = importlib.metadata.version("irp-batch-client")
if version != expected:
    problems.append(f"version {version}, pyproject.toml says {expected}")
print("\n".join(problems) or f"irp_batch_client {version} from {package}")
sys.exit(1 if problems else 0)
EOF
)
  status=$?
  tap $status "$2" "$out"
  if [ $status -eq 0 ]; then printf '%s\n' "$out" | comment; fi
}

out=$($PYTHON -m venv --system-site-packages "$tmp/venv-src" 2>&1 &&
      "$tmp/venv-src/bin/pip" install "${pip_quiet[@]}" --no-build-isolation "$tmp/client-src" 2>&1)
tap $? "pip install --no-build-isolation ./clients/python into a fresh virtualenv, offline" "$out"
installed venv-src "that virtualenv imports irp_batch_client $client_version with py.typed from its site-packages"

out=$("$tmp/venv-src/bin/pip" wheel "${pip_quiet[@]}" --no-build-isolation --no-deps -w "$tmp/wheels" "$tmp/client-src" 2>&1)
tap $? "pip wheel ./clients/python builds a wheel, offline" "$out"
wheel=$(ls "$tmp"/wheels/irp_batch_client-"$client_version"-py3-none-any.whl 2>/dev/null)
out=$($PYTHON - "$wheel" 2>&1 <<'EOF'
import sys
import zipfile

names = set(zipfile.ZipFile(sys.argv[1]).namelist())
wanted = {"irp_batch_client/__init__.py", "irp_batch_client/py.typed"}
missing = sorted(wanted - names) + ([] if any(n.endswith(".dist-info/LICENSE") for n in names) else ["LICENSE"])
print("missing: " + ", ".join(missing) if missing else "\n".join(sorted(names)))
sys.exit(1 if missing else 0)
EOF
)
tap $? "the wheel ${wheel##*/} holds irp_batch_client, py.typed and the LICENSE" "$out"

out=$($PYTHON -m venv --system-site-packages "$tmp/venv-wheel" 2>&1 &&
      "$tmp/venv-wheel/bin/pip" install "${pip_quiet[@]}" "$wheel" 2>&1)
tap $? "pip install of the wheel into another fresh virtualenv, offline" "$out"
installed venv-wheel "that virtualenv imports irp_batch_client $client_version with py.typed from its site-packages"
[ -x "$tmp/venv-wheel/bin/python" ] && PYTHON=$tmp/venv-wheel/bin/python

#
# pytest, on the wheel's virtualenv, from a copy of the tests
#
cp -r clients/python/tests "$tmp/tests"
echo "# pytest clients/python/tests with $PYTHON"
(cd "$tmp" && $PYTHON -m pytest -v -p no:cacheprovider --junitxml="$tmp/pytest.xml" tests) \
  > "$tmp/pytest.log" 2>&1
pytest_status=$?
comment < "$tmp/pytest.log"

# One line per test case from pytest's JUnit XML: "ok|not ok<TAB>name<TAB>message".
$PYTHON - "$tmp/pytest.xml" > "$tmp/pytest.tsv" 2> "$tmp/junit.err" <<'EOF'
import sys
import xml.etree.ElementTree as ET

for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    module = case.get("classname", "").rsplit(".", 1)[-1]
    name = f"{module}::{case.get('name')}".replace("\t", " ").replace("\n", " ")
    problem = next((case.find(t) for t in ("failure", "error") if case.find(t) is not None), None)
    skipped = case.find("skipped")
    if problem is not None:
        message = (problem.get("message") or problem.text or "").strip().splitlines()
        print(f"not ok\t{name}\t{message[0] if message else ''}")
    elif skipped is not None:
        # A skip is not a pass: every test must run against the test cluster.
        print(f"not ok\t{name}\tskipped: {skipped.get('message', '')}")
    else:
        print(f"ok\t{name}\t")
EOF
junit_status=$?
pytest_failures=0
while IFS=$'\t' read -r status name message; do
  if [ "$status" = ok ]; then
    tap 0 "pytest $name"
  else
    tap 1 "pytest $name" "$message"
    pytest_failures=$((pytest_failures + 1))
  fi
done < "$tmp/pytest.tsv"
if [ "$junit_status" -ne 0 ] || { [ "$pytest_status" -ne 0 ] && [ "$pytest_failures" -eq 0 ]; }; then
  tap 1 "pytest ran its tests" "pytest exit status $pytest_status; $(cat "$tmp/junit.err")"
fi

#
# The notebook, three times
#
echo "# $NOTEBOOK"

# Jupyter and IPython state in the scratch folder, and a python3 kernel that is
# the wheel's virtualenv (Debian's python), whatever kernels the user has installed.
export JUPYTER_PATH="$tmp/jupyter" JUPYTER_DATA_DIR="$tmp/jupyter-data" JUPYTER_CONFIG_DIR="$tmp/jupyter-config" \
       JUPYTER_RUNTIME_DIR="$tmp/jupyter-runtime" IPYTHONDIR="$tmp/ipython" PYDEVD_DISABLE_FILE_VALIDATION=1
mkdir -p "$JUPYTER_PATH/kernels/python3"
cat > "$JUPYTER_PATH/kernels/python3/kernel.json" <<EOF
{"argv": ["$PYTHON", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
 "display_name": "Python 3", "language": "python"}
EOF

sql() { psql -X -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1" 2>&1; }

# The batches of the notebook's configuration: "id type status duplicate_of jobs", one per line.
batches() {
  sql "SELECT b.id || ' ' || b.batch_type || ' ' || b.status || ' ' || coalesce(b.duplicate_of::text, '-') || ' '
              || (SELECT count(*) FROM irp_job j WHERE j.batch_id = b.id)
       FROM irp_batch b WHERE b.configuration_id = $CONFIG ORDER BY b.id"
}
events() {
  sql "SELECT coalesce(string_agg(e.event, ',' ORDER BY e.id), '') FROM irp_batch_event e
       WHERE e.batch_id IN (SELECT id FROM irp_batch WHERE configuration_id = $CONFIG)"
}
other_config() {
  sql "SELECT count(*) || ' ' || min(status::text) FROM irp_batch WHERE configuration_id = $OTHER_CONFIG"
}

# run_notebook RUN [VAR=VALUE...]: executes the notebook into $tmp/runRUN.ipynb,
# and its outputs as plain text into $tmp/runRUN.txt, as HTML into $tmp/runRUN.html,
# and the image/png output of the cell that calls plot_history into $tmp/runRUN.png.
run_notebook() {
  local run=$1
  shift
  env -u IRP_CONFIRM_DUPLICATES PGDATABASE="$DB" IRP_CONFIGURATION_ID="$CONFIG" IRP_STEP_ID=3 "$@" \
    $PYTHON -m nbconvert --to notebook --execute --ExecutePreprocessor.timeout=300 \
    --output-dir "$tmp" --output "run$run.ipynb" "$NOTEBOOK" > "$tmp/run$run.log" 2>&1
  local status=$?
  rm -f "$tmp/run$run.png"
  $PYTHON - "$tmp/run$run.ipynb" "$tmp/run$run.txt" "$tmp/run$run.html" "$tmp/run$run.png" <<'EOF'
import base64
import json
import sys

try:
    notebook = json.load(open(sys.argv[1], encoding="utf-8"))
except OSError:
    notebook = {"cells": []}
text, html = [], []
for cell in notebook["cells"]:
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            text.append("".join(output["text"]))
        elif output["output_type"] == "error":
            text.append(f"{output['ename']}: {output['evalue']}\n")
        else:
            text.append("".join(output.get("data", {}).get("text/plain", "")) + "\n")
            html.append("".join(output.get("data", {}).get("text/html", "")) + "\n")
            if "plot_history(" in "".join(cell["source"]) and "image/png" in output.get("data", {}):
                open(sys.argv[4], "wb").write(base64.b64decode("".join(output["data"]["image/png"])))
open(sys.argv[2], "w", encoding="utf-8").write("".join(text))
open(sys.argv[3], "w", encoding="utf-8").write("".join(html))
EOF
  return $status
}
ran() {  # ran RUN STATUS DESCRIPTION
  if [ "$2" -eq 0 ]; then
    tap 0 "$3"
  else  # the end of nbconvert's traceback, without its colours
    tap 1 "$3" "$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/run$1.log" | grep -v '^ *$' | tail -n 12)"
  fi
}
printed() {  # printed RUN DESCRIPTION PATTERN: the run's plain-text output has a line matching PATTERN
  if grep -qE -- "$3" "$tmp/run$1.txt"; then tap 0 "$2"; else tap 1 "$2" "no line matches: $3"$'\n'"$(cat "$tmp/run$1.txt")"; fi
}
# plotted RUN DESCRIPTION: the plot_history cell's output is a PNG image of a plausible size.
plotted() {
  local out
  out=$($PYTHON - "$tmp/run$1.png" 2>&1 <<'EOF'
import sys

try:
    data = open(sys.argv[1], "rb").read()
except OSError:
    sys.exit("the plot_history cell has no image/png output")
if data[:8] != b"\x89PNG\r\n\x1a\n":
    sys.exit("not a PNG")
width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
print(f"{width}x{height} pixels, {len(data)} bytes")
sys.exit(0 if width >= 600 and height >= 200 and len(data) > 10000 else 1)
EOF
)
  tap $? "$2" "$out"
}
# jobs: "id status,status..." per batch of the configuration, the distinct statuses of its jobs.
jobs() {
  sql "SELECT b.id || ' ' || coalesce(string_agg(DISTINCT j.status::text, ',' ORDER BY j.status::text), '-')
       FROM irp_batch b LEFT JOIN irp_job j ON j.batch_id = b.id WHERE b.configuration_id = $CONFIG
       GROUP BY b.id ORDER BY b.id"
}
# events_of BATCH: that batch's audit events, in order.
events_of() {
  sql "SELECT coalesce(string_agg(event, ',' ORDER BY id), '') FROM irp_batch_event WHERE batch_id = $1"
}

setup=$(psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>&1 &&
        psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "CREATE EXTENSION irp_batch" \
             -c "SELECT irp_create_batch('EDM_CREATION', $OTHER_CONFIG, 3)" 2>&1)
tap $? "notebook database $DB with the extension and a batch of configuration $OTHER_CONFIG" "$setup"

# Run 1: nothing exists yet, so the notebook creates both batches.
run_notebook 1
ran 1 $? "run 1 (first run) executes without error"
mapfile -t ids < <(sql "SELECT id FROM irp_batch WHERE configuration_id = $CONFIG ORDER BY id")
edm=${ids[0]:-?} portfolio=${ids[1]:-?}
after_run1="$edm EDM_CREATION INITIATED - 3
$portfolio PORTFOLIO_CREATION INITIATED - 5"
check "run 1 created an EDM_CREATION batch with 3 jobs and a PORTFOLIO_CREATION batch with 5" \
  "$after_run1" "$(batches)"
check "run 1: the audit trail has one CREATED event per batch" "CREATED,CREATED" "$(events)"
check "run 1 left configuration $OTHER_CONFIG alone" "1 INITIATED" "$(other_config)"
printed 1 "run 1 reports the two batches it created" "^Step 03 result: created \[$edm, $portfolio\], skipped \[\]$"
printed 1 "run 1 lists the configuration's batches with their finished jobs" "^$edm +EDM_CREATION +INITIATED +0/3 +[0-9]{4}-"
printed 1 "run 1 shows a progress bar for the new EDM_CREATION batch, at 0 of 3 jobs" \
  "batch $edm EDM_CREATION: +0%.* 0/3 .*INITIATED"
printed 1 "run 1 shows a progress bar for the new PORTFOLIO_CREATION batch, at 0 of 5 jobs" \
  "batch $portfolio PORTFOLIO_CREATION: +0%.* 0/5 .*INITIATED"
printed 1 "run 1 (no simulation, IRP_WAIT_SECONDS 0) reports the new batches still active" \
  "^Step 03 progress: still active after 0 s: \{$edm: 'INITIATED', $portfolio: 'INITIATED'\} \(later steps submit and run them\)$"
if grep -q SIMULATION "$tmp/run1.txt"; then
  tap 1 "run 1 runs no simulated job runner" "$(grep SIMULATION "$tmp/run1.txt")"
else
  tap 0 "run 1 runs no simulated job runner"
fi
plotted 1 "run 1 draws the history plot as an image/png output"

# Run 2: the accidental re-run. It shows the warning and creates nothing.
run_notebook 2
ran 2 $? "run 2 (accidental re-run) executes without error"
check "run 2 created nothing" "$after_run1" "$(batches)"
check "run 2 wrote no audit event" "CREATED,CREATED" "$(events)"
printed 2 "run 2 shows the warning" "^WARNING: configuration $CONFIG already has 2 active batch\(es\) of type EDM_CREATION, PORTFOLIO_CREATION"
printed 2 "run 2's warning table lists the EDM_CREATION batch (id, status, jobs, created, creator)" \
  "^$edm +EDM_CREATION +INITIATED +3 +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}[+-][0-9:]+ +$(sql "SELECT current_user") *$"
printed 2 "run 2's warning table lists the PORTFOLIO_CREATION batch" \
  "^$portfolio +PORTFOLIO_CREATION +INITIATED +5 +[0-9]{4}-"
if grep -q "<td>$edm</td><td>EDM_CREATION</td><td>INITIATED</td><td>3</td>" "$tmp/run2.html"; then
  tap 0 "run 2's warning table is also HTML"
else
  tap 1 "run 2's warning table is also HTML" "$(head -c 2000 "$tmp/run2.html")"
fi
printed 2 "run 2's warning says when each batch last changed" \
  "^batch $edm exists \(INITIATED, last activity [0-9]+ (second|minute)s? ago\)$"
printed 2 "run 2 says confirmation was not given" "^No one to ask .*not confirmed"
printed 2 "run 2 reports that it created nothing" \
  "^Step 03 result: created \[\], skipped \['EDM_CREATION', 'PORTFOLIO_CREATION'\]$"
printed 2 "run 2 has no new batch to follow" "^Step 03 progress: nothing was created in this run"
plotted 2 "run 2 draws the history plot as an image/png output"

# Run 3: confirmed through the parameter, so it creates intentional duplicates;
# with the SIMULATED job runner (IRP_SIMULATE_JOBS=yes), which takes the batches
# this run created, and only those, to COMPLETED while wait_for_batches follows them.
run_notebook 3 IRP_CONFIRM_DUPLICATES=yes IRP_SIMULATE_JOBS=yes
ran 3 $? "run 3 (IRP_CONFIRM_DUPLICATES=yes IRP_SIMULATE_JOBS=yes) executes without error"
mapfile -t new_ids < <(sql "SELECT id FROM irp_batch WHERE configuration_id = $CONFIG AND id NOT IN ($edm, $portfolio) ORDER BY id" 2>/dev/null)
edm2=${new_ids[0]:-?} portfolio2=${new_ids[1]:-?}
check "run 3 created one intentional duplicate of each batch, with the same jobs, which the simulation completed" \
  "$after_run1
$edm2 EDM_CREATION COMPLETED $edm 3
$portfolio2 PORTFOLIO_CREATION COMPLETED $portfolio 5" "$(batches)"
check "run 3: the simulation finished every job of the new batches and none of the others" \
  "$edm INITIATED
$portfolio INITIATED
$edm2 FINISHED
$portfolio2 FINISHED" "$(jobs)"
check "run 3: the audit trail records the duplicates as DUPLICATE_CREATED" \
  "CREATED,CREATED,DUPLICATE_CREATED,DUPLICATE_CREATED" "$(sql "SELECT string_agg(event, ',' ORDER BY id) FROM irp_batch_event
     WHERE event LIKE '%CREATED' AND batch_id IN (SELECT id FROM irp_batch WHERE configuration_id = $CONFIG)")"
check "run 3: each new batch went INITIATED -> ACTIVE -> COMPLETED, in the audit trail" \
  "DUPLICATE_CREATED,STATUS_CHANGED,STATUS_CHANGED DUPLICATE_CREATED,STATUS_CHANGED,STATUS_CHANGED" \
  "$(events_of "$edm2") $(events_of "$portfolio2")"
check "run 3: the batches of run 1 have no new events" "CREATED CREATED" "$(events_of "$edm") $(events_of "$portfolio")"
printed 3 "run 3 reports the confirmation" "^IRP_CONFIRM_DUPLICATES=yes$"
printed 3 "run 3 reports the two duplicates it created" "^Step 03 result: created \[$edm2, $portfolio2\], skipped \[\]$"
printed 3 "run 3 says the job runner is a SIMULATION" "^SIMULATION \(IRP_SIMULATE_JOBS=yes\): .*batches \[$edm2, $portfolio2\]"
printed 3 "run 3's progress bar of the EDM_CREATION batch reaches 3 of 3 jobs, COMPLETED" \
  "batch $edm2 EDM_CREATION: +100%.* 3/3 .*COMPLETED"
printed 3 "run 3's progress bar of the PORTFOLIO_CREATION batch reaches 5 of 5 jobs, COMPLETED" \
  "batch $portfolio2 PORTFOLIO_CREATION: +100%.* 5/5 .*COMPLETED"
printed 3 "run 3 reports the progress result: both new batches COMPLETED" \
  "^Step 03 progress: every new batch has finished: \{$edm2: 'COMPLETED', $portfolio2: 'COMPLETED'\}$"
printed 3 "run 3 lists all four batches of the configuration" "^$edm2 +EDM_CREATION +INITIATED +0/3 +"
plotted 3 "run 3 draws the history plot as an image/png output"
check "run 3 left configuration $OTHER_CONFIG alone" "1 INITIATED" "$(other_config)"

# A confirmation that is neither yes nor no stops the notebook before it creates anything.
before=$(batches)
run_notebook 4 IRP_CONFIRM_DUPLICATES=maybe
status=$?
if [ "$status" -ne 0 ] && grep -q "IRP_CONFIRM_DUPLICATES must be 'yes' or 'no'" "$tmp/run4.log"; then
  tap 0 "run 4 (IRP_CONFIRM_DUPLICATES=maybe) stops with an error"
else
  tap 1 "run 4 (IRP_CONFIRM_DUPLICATES=maybe) stops with an error" \
    "exit status $status; $(sed 's/\x1b\[[0-9;]*m//g' "$tmp/run4.log" | grep -v '^ *$' | tail -n 5)"
fi
check "run 4 created nothing" "$before" "$(batches)"

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" > /dev/null 2>&1

echo "1..$n"
echo "# $((n - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
