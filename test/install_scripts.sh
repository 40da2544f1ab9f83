#!/usr/bin/env bash
# The install scripts of the newest version are readable: assembled by make from pieces by
# concern (extension/*.sql), none of them long; nothing in them writes a
# system catalog or runs DDL kept in table rows. Prints TAP.
set -u
cd "$(dirname "$0")/.."
n=0 failed=0
check() { # check STATUS DESCRIPTION
  n=$((n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
pieces=(extension/header.sql extension/triggers.sql extension/api.sql extension/drop_warning.sql
        extension/setup.sql extension/install.sql extension/update--2.0--2.1.sql extension/update--2.0--2.1-end.sql)
built=(extension/irp_batch--2.1.sql extension/irp_batch--2.0--2.1.sql)
# Released versions' scripts are kept as released (2.0's were built by make).
released=(extension/irp_batch--2.0.sql extension/irp_batch--1.2--2.0.sql)

for f in "${built[@]}"; do
  [ -f "$f" ] && head -1 "$f" | grep -q "made by make from the pieces"
  check $? "$f is built by make from the pieces"
done
longest=$(wc -l "${pieces[@]}" | grep -v total | sort -n | tail -1)
[ "$(echo "$longest" | awk '{print $1}')" -le 500 ]
check $? "no piece is over 500 lines (longest: $longest)"
! grep -nEi '(insert[[:space:]]+into|update|delete[[:space:]]+from)[[:space:]]+(pg_catalog\.)?pg_[a-z_]+' "${built[@]}"
check $? "no statement of the newest scripts writes a system catalog"
# The only tables are the data's: no table of the extension's own keeps DDL
# for a restore to run (as 1.2's shape tables did).
tables=$(grep -ohEi 'CREATE[[:space:]]+TABLE[[:space:]]+[^ (]+' "${built[@]}" | awk '{print $3}' | sed 's/.*\.//' | sort -u | tr '\n' ' ')
[ "$tables" = "irp_batch irp_batch_event irp_job " ]
check $? "the scripts create no table but irp_batch, irp_job and irp_batch_event ($tables)"
# 2.0 as released: the files make built at its release, byte for byte.
sha256sum -c --quiet - <<'SUMS'
227fd0602bc7a373ec23b6996070791f8772cca8d6d005e0accbcad01a6c3f9b  extension/irp_batch--2.0.sql
49229350fc6e5164eafec04c6741a804084d64e6e61c6323d5454c0c73c8caa6  extension/irp_batch--1.2--2.0.sql
SUMS
check $? "the scripts of 2.0 are as released (${released[*]})"
echo "1..$n"
exit $failed
