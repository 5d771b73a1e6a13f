#!/usr/bin/env bash
# Builds the release artifacts (scripts/release.sh) and checks that they hold the native executable and run
# on their own: the tarball's layout and a real job from it, the .deb's layout, a run from the unpacked .deb,
# and one real `apt-get install ./diskimg_*.deb` giving /usr/bin/diskimg, removed again afterwards (skipped
# with a message when diskimg is already installed on this machine or there is no root or sudo).
#
#   scripts/check-release.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-release: $*" >&2; exit 1; }

scripts/release.sh "$@" >"$work/artifacts"
tarball=$(grep '\.tar\.gz$' "$work/artifacts")
deb=$(grep '\.deb$' "$work/artifacts")
echo "tarball: $tarball"; echo "deb: $deb"

# A native executable: ELF, and the NativeAOT runtime's debug header, not a managed apphost (which would need
# diskimg.dll and a .NET runtime beside it).
is_native() { head -c 4 "$1" | grep -q $'\x7fELF' && grep -qa DotNetRuntimeDebugHeader "$1" && ! grep -qa 'hostfxr' "$1"; }
job() { # DISKIMG DIR: create, write, convert, info, check
  "$1" create -q -f raw "$2/demo.raw" 64M
  "$1" io -f raw -c "write -P 0x5a 1M 4M" "$2/demo.raw" >/dev/null
  "$1" convert -O qcow2 "$2/demo.raw" "$2/demo.qcow2"
  "$1" info "$2/demo.qcow2" | grep -q 'file format: qcow2' || fail "$1 info did not report qcow2"
  "$1" check "$2/demo.qcow2" | grep -q 'No errors were found' || fail "$1 check found errors"
  rm -f "$2/demo.raw" "$2/demo.qcow2"
}

listing=$(tar -tzf "$tarball" | sort)
expected=$(printf '%s\n' "$(basename "$tarball" .tar.gz)/" "$(basename "$tarball" .tar.gz)/"{LICENSE,README.md,diskimg} | sort)
[ "$listing" = "$expected" ] || fail "tarball holds:"$'\n'"$listing"
mkdir "$work/tar" && tar -xzf "$tarball" -C "$work/tar"
exe="$work/tar/$(basename "$tarball" .tar.gz)/diskimg"
is_native "$exe" || fail "the tarball's diskimg is not a Native AOT executable"
# No .NET on the way: an empty environment apart from PATH for the shell.
env -i PATH=/usr/bin:/bin bash -c "$(declare -f job fail); job '$exe' '$work'"
echo "tarball: native executable runs a job without .NET"

deb_listing=$(dpkg-deb -c "$deb")
grep -q ' \./usr/bin/diskimg$' <<<"$deb_listing" || fail "the .deb has no /usr/bin/diskimg"
[ "$(dpkg-deb -f "$deb" Package)" = diskimg ] || fail "the .deb is not package diskimg"
dpkg-deb -x "$deb" "$work/deb"
is_native "$work/deb/usr/bin/diskimg" || fail "the .deb's diskimg is not a Native AOT executable"
job "$work/deb/usr/bin/diskimg" "$work"
echo "deb: layout and unpacked executable checked"

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
if dpkg -s diskimg >/dev/null 2>&1 || [ -e /usr/bin/diskimg ]; then
  echo "deb: not installed for real, /usr/bin/diskimg already exists on this machine"
elif [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
  echo "deb: not installed for real, no root or sudo"
else
  cp "$deb" "$work/"  # apt-get wants a path it can read as the _apt user
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "$work/$(basename "$deb")" >/dev/null 2>&1 \
    || fail "apt-get install ./$(basename "$deb") failed"
  status=0
  { [ "$(command -v diskimg)" = /usr/bin/diskimg ] && job /usr/bin/diskimg "$work"; } || status=$?
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get remove -y -qq diskimg >/dev/null 2>&1
  [ -e /usr/bin/diskimg ] && fail "apt-get remove left /usr/bin/diskimg"
  [ "$status" -eq 0 ] || fail "/usr/bin/diskimg from the .deb did not run the job"
  echo "deb: apt-get install gave /usr/bin/diskimg, which ran the job; removed again"
fi
echo "release check passed"
