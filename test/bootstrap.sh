#!/usr/bin/env bash
# Installs what building and testing irp_batch needs, from Debian's packages,
# unless it is already there. Runs as root, or through sudo.
set -euo pipefail

packages=(
  make g++                          # the extension is C++17
  doctest-dev                       # the unit tests of the pure rules (test/unit/)
  clang-14 llvm-14                  # PGXS also emits LLVM bitcode (PostgreSQL is built with LLVM)
  postgresql-15                     # the server the tests run against; also pgbench and amcheck (outside load)
  postgresql-server-dev-15          # pg_config, PGXS, server headers, pg_regress, isolationtester
  postgresql-15-pgtap               # pgTAP
  postgresql-15-plproxy             # the scale-out router (examples/plproxy, test/plproxy.sh)
  libtap-parser-sourcehandler-pgtap-perl  # pg_prove
  python3-psycopg                   # README's Python example, the Python client, the stress check
  python3-pytest                    # the Python client's tests
  jupyter-nbconvert python3-ipykernel  # runs the Step 03 notebook headless
  python3-tqdm python3-ipywidgets   # the client's wait_for_batches(): progress bars, as widgets in notebooks
  python3-matplotlib                # the client's plot_history(), and docs/history.png
  gnuplot-nox                       # the benchmark's chart
  libipc-run-perl                   # PostgreSQL::Test::Cluster, for the TAP tests in t/
  pgbouncer                         # the Python client's suite through a pooler (test/pgbouncer.sh)
  build-essential dpkg-dev debhelper fakeroot  # make deb: dpkg-buildpackage
  postgresql-server-dev-all         # make deb: pg_buildext, dh --with pgxs
  lintian                           # make test: checks the .deb
  git                               # make dist: git archive
  python3-venv python3-setuptools python3-wheel  # make test: the Python client installed into a throwaway venv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "bootstrap: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
