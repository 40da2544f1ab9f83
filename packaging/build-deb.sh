#!/usr/bin/env bash
# make deb: builds postgresql-15-irp-batch_VERSION-1_amd64.deb with
# `dpkg-buildpackage -us -uc -b` in a copy of the tree (the files git tracks,
# plus new ones it does not ignore), so the checkout gets no build-15/ or
# debian/ build products. The build runs the regression and isolation suites
# against the package's files (dh_pgxs_test); DEB_BUILD_OPTIONS=nocheck skips
# them. The .deb lands in DEB_OUT (default: the top of the repository); the
# last line printed is its path.
#
# The version is irp_batch.control's default_version: debian/changelog must
# have an entry for it (dch -v VERSION-1), else this stops and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=${DEB_OUT:-$top}

extversion=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" irp_batch.control)
debversion=$(dpkg-parsechangelog -l debian/changelog -SVersion)
if [ "${debversion%-*}" != "$extversion" ]; then
  echo "make deb: debian/changelog's newest entry is $debversion, but irp_batch.control's default_version is $extversion:" >&2
  echo "  add an entry first: dch -v $extversion-1 (and bump META.json and clients/python/pyproject.toml)" >&2
  exit 1
fi

tmp=$(mktemp -d /tmp/irp_batch_deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"   # the build's throwaway cluster runs as another user and reads the package's files
src=$tmp/irp-batch-$extversion
mkdir "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard |
    tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$src"
else
  cp -a . "$src"
  make -s -C "$src" clean >/dev/null 2>&1 || true
fi

# The build's throwaway cluster (dh_pgxs_test: pg_virtualenv) takes PGPORT: a
# random high one, off the ports other clusters on this machine pick (5432 and
# up), and never a server of the user's that PGPORT may name.
export PGPORT=$((20000 + RANDOM % 20000))
echo "make deb: dpkg-buildpackage -us -uc -b in $src (log: build.log there until it ends)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) > "$tmp/build.log" 2>&1; then
  log=$(mktemp /tmp/irp_batch_deb_build.XXXXXX.log)
  cp "$tmp/build.log" "$log"
  grep -E '^(not ok|.* \.\.\. FAILED|test .* FAILED|\*\*\*\*|[-+@ ].*)$' "$log" | head -n 80 >&2 || true
  tail -n 15 "$log" >&2
  echo "make deb: dpkg-buildpackage failed; its log: $log" >&2
  exit 1
fi
grep -E '^(dpkg-deb: building|### End|.*All [0-9]+ tests passed)' "$tmp/build.log" | sed 's/^ *//' || true
deb=postgresql-15-irp-batch_${debversion}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
mkdir -p "$out"
cp "$tmp/$deb" "$out/"
echo "$out/$deb"
