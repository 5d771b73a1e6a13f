#!/usr/bin/env bash
# Updates src/DiskImage/PublicAPI.Unshipped.txt to the library's public surface as it is now.
# The PublicAPI analyzer fails the build on any public change not declared there (RS0016) and on any
# declared symbol that is gone (RS0017); after merging branches that add or change public API, run this
# and review the diff of the file. Both diagnostics quote the exact line the file needs, so the script adds
# the RS0016 lines and drops the RS0017 ones. PublicAPI.Shipped.txt is left alone (move lines there on a release).
set -euo pipefail
cd "$(dirname "$0")/.."
project=src/DiskImage/DiskImage.csproj
unshipped=src/DiskImage/PublicAPI.Unshipped.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for round in 1 2 3; do
  dotnet build "$project" -c Release -nologo -v quiet --no-incremental 2>&1 | grep -E "error RS001[67]" | sort -u > "$work/diagnostics" || true
  [ -s "$work/diagnostics" ] || break
  { grep RS0016 "$work/diagnostics" || true; } | sed -E "s/.*Symbol '(.*)' is not part of the declared public API.*/\1/" > "$work/add"
  { grep RS0017 "$work/diagnostics" || true; } | sed -E "s/.*Symbol '(.*)' is part of the declared API.*/\1/" > "$work/remove"
  # Sorted (ordinal) so that regenerating gives the same file and diffs show only real changes.
  { head -n 1 "$unshipped"; { tail -n +2 "$unshipped" | grep -vxF -f "$work/remove" || true; cat "$work/add"; } | LC_ALL=C sort -u; } > "$work/new"
  cp "$work/new" "$unshipped"
  echo "round $round: $(wc -l < "$work/add") added, $(wc -l < "$work/remove") removed"
done
dotnet build "$project" -c Release -nologo -v quiet
echo "$(($(wc -l < "$unshipped") - 1)) public symbols declared in $unshipped"
