#!/usr/bin/env bash
# Regenerates src/DiskImage/PublicAPI.Unshipped.txt from the library's public surface as it is now.
# The PublicAPI analyzer fails the build on any public change not declared there (RS0016) and on any
# declared symbol that is gone (RS0017); after merging branches that add or change public API, run this
# and review the diff of the file. PublicAPI.Shipped.txt is left alone (move lines there on a release).
# Uses the analyzer's own code fix through `dotnet format`, so the lines are exactly what it expects.
set -euo pipefail
cd "$(dirname "$0")/.."
project=src/DiskImage/DiskImage.csproj
unshipped=src/DiskImage/PublicAPI.Unshipped.txt

printf '#nullable enable\n' > "$unshipped"
dotnet format analyzers "$project" --diagnostics RS0016 --severity warn -v q
# Sorted (ordinal) so that regenerating gives the same file and diffs show only real changes.
{ head -n 1 "$unshipped"; tail -n +2 "$unshipped" | LC_ALL=C sort -u; } > "$unshipped.new"
mv "$unshipped.new" "$unshipped"
# Shipped lines must not be declared twice.
if [ -s src/DiskImage/PublicAPI.Shipped.txt ]; then
  grep -vxF -f <(tail -n +2 src/DiskImage/PublicAPI.Shipped.txt) "$unshipped" > "$unshipped.new" || true
  mv "$unshipped.new" "$unshipped"
fi
dotnet build "$project" -c Release -nologo -v quiet
echo "$(($(wc -l < "$unshipped") - 1)) public symbols declared in $unshipped"
