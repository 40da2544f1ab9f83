#!/usr/bin/env bash
# make test's packaging suite, run from the repository (a git checkout) before
# `make install`:
#   - META.json against the PGXN spec and the version and licence everywhere
#     (test/meta.py), and that a version bump the other files miss fails it;
#   - make dist: irp_batch-VERSION.zip from git archive, whose META.json validates;
#   - make installcheck: the regression and isolation suites only (make -n);
#   - make deb: postgresql-15-irp-batch_VERSION-1_ARCH.deb (its build runs the
#     regression and isolation suites against the package's files), holding
#     what `make install` installs; lintian: no errors, and every warning
#     listed in debian/README.source;
#   - the .deb installed with `apt-get install ./...deb` into this machine's
#     PostgreSQL 15, CREATE EXTENSION and a create/duplicate round (and an
#     update from the oldest version it ships) in a throwaway cluster, then
#     purged, so that nothing is left behind (also if this is interrupted).
# It refuses to touch a postgresql-15-irp-batch that was installed before it ran.
# Runs as root, or with sudo. Prints TAP ("ok N - ...", "not ok N - ...",
# "1..N"); exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

PYTHON=/usr/bin/python3
PACKAGE=postgresql-15-irp-batch
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_options=(-y -qq --no-install-recommends -o DPkg::Lock::Timeout=300)

tmp=$(mktemp -d /tmp/irp_batch_packaging.XXXXXX)
chmod 755 "$tmp"   # apt's _apt user, lintian's and the cluster's users read from it
installed_by_us=0
cleanup() {
  if [ "$installed_by_us" -eq 1 ]; then
    echo "# purging $PACKAGE"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get purge "${apt_options[@]}" "$PACKAGE" > /dev/null 2>&1
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n=0
failures=0
# tap STATUS DESCRIPTION [DIAGNOSTIC]: STATUS 0 is ok.
tap() {
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
comment() { sed 's/^/# /'; }
# retap STATUS: renumbers the TAP lines of another script (on stdin) as ours;
# if it exited non-zero without a failing line, that is a failure too.
retap() {
  local line before=$failures
  while IFS= read -r line; do
    if [[ $line =~ ^ok\ [0-9]+\ -\ (.*)$ ]]; then tap 0 "${BASH_REMATCH[1]}"
    elif [[ $line =~ ^not\ ok\ [0-9]+\ -\ (.*)$ ]]; then tap 1 "${BASH_REMATCH[1]}"
    elif [[ $line =~ ^1\.\.[0-9]+$ ]]; then :
    elif [[ $line =~ ^# ]]; then echo "$line"
    else echo "# $line"
    fi
  done
  if [ "$1" -ne 0 ] && [ "$failures" -eq "$before" ]; then tap 1 "$2 exited with status $1"; fi
}

extversion=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" irp_batch.control)
arch=$(dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null || dpkg --print-architecture)

#
# META.json
#
echo "# META.json (test/meta.py)"
$PYTHON test/meta.py > "$tmp/meta.out" 2>&1
retap $? test/meta.py < "$tmp/meta.out"

# A version bump in the control file alone must fail the validator.
mkdir -p "$tmp/bump/debian" "$tmp/bump/clients/python"
cp META.json LICENSE irp_batch.control README.md "$tmp/bump/"
cp debian/changelog debian/copyright "$tmp/bump/debian/"
cp clients/python/pyproject.toml "$tmp/bump/clients/python/"
sed -i "s/^default_version *=.*/default_version = '99.0'/" "$tmp/bump/irp_batch.control"
$PYTHON test/meta.py "$tmp/bump" > "$tmp/bump.out" 2>&1
status=$?
if [ "$status" -ne 0 ] && [ "$(grep -c '^not ok' "$tmp/bump.out")" -eq 4 ]; then
  tap 0 "a default_version bump alone fails test/meta.py on META.json (version, provides), debian/changelog and pyproject.toml"
else
  tap 1 "a default_version bump alone fails test/meta.py on META.json (version, provides), debian/changelog and pyproject.toml" \
    "exit status $status; $(grep '^not ok' "$tmp/bump.out")"
fi

#
# make dist
#
echo "# make dist"
distversion=$($PYTHON -c 'import json; print(json.load(open("META.json"))["version"])' 2>/dev/null)
zip=$tmp/irp_batch-$distversion.zip
out=$(make -s dist DIST_OUT="$tmp" 2>&1)
if [ -f "$zip" ]; then tap 0 "make dist wrote irp_batch-$distversion.zip"; else tap 1 "make dist wrote irp_batch-$distversion.zip" "$out"; fi
out=$($PYTHON - "$zip" "irp_batch-$distversion/" "$tmp/unzipped" 2>&1 <<'EOF'
import sys
import zipfile

archive, prefix, target = sys.argv[1:]
names = zipfile.ZipFile(archive).namelist()
outside = [n for n in names if not n.startswith(prefix)]
missing = [f for f in ("META.json", "irp_batch.control", "Makefile", "LICENSE", "README.md") if prefix + f not in names]
if outside or missing:
    print(f"outside {prefix}: {outside[:5]}; missing: {missing}")
    sys.exit(1)
zipfile.ZipFile(archive).extractall(target)
print(f"{len(names)} entries under {prefix}")
EOF
)
tap $? "the zip holds one folder irp_batch-$distversion/ with META.json, the control file, Makefile, LICENSE and README.md" "$out"
echo "$out" | comment
out=$($PYTHON test/meta.py "$tmp/unzipped/irp_batch-$distversion" 2>&1)
tap $? "the zip's META.json validates (test/meta.py on the unpacked zip)" "$(grep -A3 '^not ok' <<< "$out")"

#
# make installcheck: against the server libpq's environment names, the
# regression and isolation suites and nothing else (suites.sh runs them).
#
out=$(make -s -n installcheck PG_CONFIG="$PG_CONFIG" 2>&1)
if grep -q '/pg_regress ' <<< "$out" && grep -q '/pg_isolation_regress ' <<< "$out" && ! grep -qE 'prove|pg_virtualenv|bootstrap' <<< "$out"; then
  tap 0 "make installcheck runs pg_regress and pg_isolation_regress, without the TAP suites or a cluster of its own"
else
  tap 1 "make installcheck runs pg_regress and pg_isolation_regress, without the TAP suites or a cluster of its own" "$out"
fi

#
# make deb
#
echo "# make deb"
deb=${PACKAGE}_${extversion}-1_${arch}.deb
DEB_OUT=$tmp bash packaging/build-deb.sh > "$tmp/deb.log" 2>&1
status=$?
comment < "$tmp/deb.log"
if [ "$status" -eq 0 ] && [ -f "$tmp/$deb" ]; then
  tap 0 "make deb built $deb (dpkg-buildpackage -us -uc -b in a copy of the tree)"
else
  tap 1 "make deb built $deb (dpkg-buildpackage -us -uc -b in a copy of the tree)" "exit status $status; $(ls "$tmp"/*.deb 2>&1)"
fi
suites=$(grep -c 'All [0-9]* tests passed' "$tmp/deb.log")
if [ "$suites" -eq 2 ]; then
  tap 0 "the build ran the regression and isolation suites against the package's files, and they passed (dh_pgxs_test)"
else
  tap 1 "the build ran the regression and isolation suites against the package's files, and they passed (dh_pgxs_test)" \
    "$suites of 2 suites reported success"
fi
chmod 644 "$tmp"/*.deb 2>/dev/null
fields=$(dpkg-deb -f "$tmp/$deb" Package Version Architecture 2>&1 | tr '\n' ' ')
check_fields="Package: $PACKAGE Version: $extversion-1 Architecture: $arch "
if [ "$fields" = "$check_fields" ]; then tap 0 "its control fields: $fields"; else tap 1 "its control fields: $check_fields" "got: $fields"; fi

# The package holds exactly what `make install` installs (DESTDIR: nothing
# outside $tmp is written), besides its documentation.
out=$(make -s install DESTDIR="$tmp/destdir" PG_CONFIG="$PG_CONFIG" 2>&1)
(cd "$tmp/destdir" 2>/dev/null && find . -type f | sed 's|^\./|/|' | sort) > "$tmp/make-install.list"
dpkg-deb -c "$tmp/$deb" 2>/dev/null | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|' | grep -v '^/usr/share/doc/' | sort > "$tmp/deb.list"
if [ -s "$tmp/deb.list" ] && diff "$tmp/make-install.list" "$tmp/deb.list" > "$tmp/lists.diff"; then
  tap 0 "the package installs exactly the files of make install ($(wc -l < "$tmp/deb.list") files: the module, its bitcode, the control file and every install script)"
else
  tap 1 "the package installs exactly the files of make install" "$out$(cat "$tmp/lists.diff")"
fi
# The listing is read once into a file: grep -q in a pipe would stop reading
# early, and under pipefail dpkg-deb's SIGPIPE would count as "missing".
dpkg-deb -c "$tmp/$deb" 2>/dev/null | awk '{print $6}' > "$tmp/deb.all"
for f in "/usr/share/postgresql/15/extension/irp_batch--$extversion.sql" /usr/share/postgresql/15/extension/irp_batch.control \
         /usr/lib/postgresql/15/lib/irp_batch.so /usr/share/doc/$PACKAGE/copyright; do
  grep -qx ".$f" "$tmp/deb.all" || missing_file="${missing_file:-} $f"
done
tap "$([ -z "${missing_file:-}" ]; echo $?)" "it holds irp_batch--$extversion.sql, the control file, irp_batch.so and the copyright" "missing:${missing_file:-}"

#
# lintian
#
echo "# lintian $deb"
lintian_runner=()
[ "$(id -u)" -eq 0 ] && lintian_runner=(runuser -u nobody --)
(cd "$tmp" && "${lintian_runner[@]}" lintian --display-info --pedantic --fail-on error "$tmp/$deb") > "$tmp/lintian.log" 2>&1
status=$?
comment < "$tmp/lintian.log"
tap $status "lintian reports no error" "$(grep '^E:' "$tmp/lintian.log")"
unlisted=""
while read -r tag; do
  grep -qw -- "$tag" debian/README.source || unlisted="$unlisted $tag"
done < <(sed -n 's/^W: [^:]*: \([^ ]*\).*/\1/p' "$tmp/lintian.log" | sort -u)
tap "$([ -z "$unlisted" ]; echo $?)" "every lintian warning is listed, with its reason, in debian/README.source" "not listed:$unlisted"

#
# apt-get install, run, purge
#
echo "# apt-get install ./$deb"
if dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -q "installed"; then
  tap 1 "$PACKAGE is not installed before the test" \
    "it is ($(dpkg-query -W -f='${Version}' "$PACKAGE")): this test installs and purges its own; remove that one first (apt-get purge $PACKAGE)"
elif [ ! -f "$tmp/$deb" ]; then
  tap 1 "apt-get install ./$deb" "no package was built"
else
  installed_by_us=1
  out=$(cd "$tmp" && DEBIAN_FRONTEND=noninteractive $sudo apt-get install "${apt_options[@]}" "./$deb" 2>&1)
  tap $? "apt-get install ./$deb into this machine's PostgreSQL 15" "$out"
  out=$(dpkg-query -W -f='${Status} ${Version}' "$PACKAGE" 2>&1)
  check_status="install ok installed $extversion-1"
  if [ "$out" = "$check_status" ]; then tap 0 "dpkg: $out"; else tap 1 "dpkg: $check_status" "got: $out"; fi
  out=$($sudo dpkg --verify "$PACKAGE" 2>&1)
  if [ -z "$out" ]; then tap 0 "dpkg --verify: the installed files are the package's"; else tap 1 "dpkg --verify: the installed files are the package's" "$out"; fi
  sharedir=$($PG_CONFIG --sharedir) pkglibdir=$($PG_CONFIG --pkglibdir)
  out=$(dpkg -S "$sharedir/extension/irp_batch.control" "$pkglibdir/irp_batch.so" 2>&1 | cut -d: -f1 | sort -u)
  if [ "$out" = "$PACKAGE" ]; then tap 0 "the server's irp_batch.control and irp_batch.so belong to $PACKAGE"; else tap 1 "the server's irp_batch.control and irp_batch.so belong to $PACKAGE" "$out"; fi

  # The extension, from the package, in a throwaway cluster.
  cat > "$tmp/smoke.sh" <<'EOF'
#!/usr/bin/env bash
# In pg_virtualenv: CREATE EXTENSION and a create/duplicate round. Prints TAP without numbers' meaning.
expected_version=$1
i=0
say() { i=$((i + 1)); if [ "$1" -eq 0 ]; then echo "ok $i - $2"; else echo "not ok $i - $2"; printf '%s\n' "$3" | sed 's/^/#   /'; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d irp_batch_package "$@" 2>&1 | paste -sd '|'; }   # one statement's answer a field
expect() {  # expect DESCRIPTION EXPECTED SQL...
  local description=$1 wanted=$2 got; shift 2
  got=$(q "$@")
  if [ "$got" = "$wanted" ]; then say 0 "$description"; else say 1 "$description" "expected: $wanted"$'\n'"got:      $got"; fi
}
createdb irp_batch_package
expect "CREATE EXTENSION irp_batch: version $expected_version" "$expected_version" \
  -c "CREATE EXTENSION irp_batch" -c "SELECT extversion FROM pg_extension WHERE extname = 'irp_batch'"
expect "irp_create_batch creates batch 1 with its 2 jobs" "1|2" \
  -c "SELECT irp_create_batch('EDM_CREATION', 42, 3, jobs => '[{\"edm\": \"EDM_A\"}, {\"edm\": \"EDM_B\"}]')" \
  -c "SELECT count(*) FROM irp_job WHERE batch_id = 1"
got=$(psql -X -At -d irp_batch_package -c "SELECT irp_create_batch('EDM_CREATION', 42, 3)" 2>&1)
wanted="ERROR:  Active batch already exists for configuration 42 and batch_type 'EDM_CREATION': Batch ID 1 (status: INITIATED)"
if [ "$(head -n 1 <<< "$got")" = "$wanted" ]; then say 0 "the duplicate is refused with the descriptive error"; else say 1 "the duplicate is refused with the descriptive error" "expected: $wanted"$'\n'"got:      $got"; fi
expect "allow_duplicate => true creates a second batch, a duplicate of batch 1; one active batch without duplicate_of" "t|1|1" \
  -c "SELECT irp_create_batch('EDM_CREATION', 42, 3, allow_duplicate => true) > 1" \
  -c "SELECT duplicate_of FROM irp_batch WHERE id = (SELECT max(id) FROM irp_batch)" \
  -c "SELECT count(*) FROM irp_batch WHERE configuration_id = 42 AND duplicate_of IS NULL"
expect "the audit trail: CREATED, DUPLICATE_CREATED" "CREATED,DUPLICATE_CREATED" \
  -c "SELECT string_agg(event::text, ',' ORDER BY id) FROM irp_batch_event"
oldest=$(q -c "SELECT version FROM pg_available_extension_versions WHERE name = 'irp_batch' ORDER BY string_to_array(version, '.')::int[] LIMIT 1")
createdb irp_batch_package_update
got=$(psql -X -q -At -v ON_ERROR_STOP=1 -d irp_batch_package_update -c "CREATE EXTENSION irp_batch VERSION '$oldest'" \
        -c "ALTER EXTENSION irp_batch UPDATE" -c "SELECT extversion FROM pg_extension WHERE extname = 'irp_batch'" 2>&1)
if [ "$got" = "$expected_version" ]; then say 0 "CREATE EXTENSION irp_batch VERSION '$oldest', then ALTER EXTENSION UPDATE: $expected_version"; else say 1 "CREATE EXTENSION irp_batch VERSION '$oldest', then ALTER EXTENSION UPDATE: $expected_version" "$got"; fi
EOF
  runner=()
  [ "$(id -u)" -eq 0 ] && runner=(runuser -u postgres --)
  (cd "$tmp" && PGPORT=$((20000 + RANDOM % 20000)) "${runner[@]}" pg_virtualenv -t -v 15 -i "--encoding=UTF8 --locale=C.UTF-8" bash "$tmp/smoke.sh" "$extversion") > "$tmp/smoke.out" 2>&1
  retap $? "the smoke test in a throwaway cluster" < <(grep -E '^(ok|not ok|#)' "$tmp/smoke.out")
  grep -qE '^(ok|not ok) ' "$tmp/smoke.out" || tail -n 20 "$tmp/smoke.out" | comment

  echo "# apt-get purge $PACKAGE"
  out=$(DEBIAN_FRONTEND=noninteractive $sudo apt-get purge "${apt_options[@]}" "$PACKAGE" 2>&1)
  tap $? "apt-get purge $PACKAGE" "$out"
  installed_by_us=0
  left=$(dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null | grep -v '^unknown ok not-installed' ;
         ls "$sharedir"/extension/irp_batch* "$pkglibdir"/irp_batch* -d "$pkglibdir/bitcode/irp_batch" 2>/dev/null)
  tap "$([ -z "$left" ]; echo $?)" "after the purge dpkg knows no $PACKAGE and none of its files is left" "$left"
fi

echo "1..$n"
echo "# $((n - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
