#!/usr/bin/env bash
# Builds the solution and runs every test: unit tests and interop tests against qemu-img/qemu-io,
# xorriso, osirrox and isoinfo. Installs those tools first when they are missing (needs root or sudo).
# Prints "N passed, N failed, N skipped" as its last line; exits non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v xorriso >/dev/null || need+=(xorriso)
command -v genisoimage >/dev/null || need+=(genisoimage)
command -v vhdiinfo >/dev/null || need+=(libvhdi-utils)
# Real-world ISOs the ISO 9660 reader is checked against.
[ -e /usr/lib/ipxe/ipxe.iso ] || need+=(ipxe)
[ -e /usr/lib/grub-rescue/grub-rescue-cdrom.iso ] || need+=(grub-rescue-pc)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} ..." >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq >&2
  "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >&2
fi

results="${TEST_RESULTS_DIR:-$PWD/artifacts/test-results}"
rm -rf "$results"
mkdir -p "$results"

dotnet build DiskImage.slnx -c Release -nologo -v quiet "$@"
status=0
dotnet test DiskImage.slnx -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  s=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # the runner failed without reporting a failed test (build or host crash)
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
