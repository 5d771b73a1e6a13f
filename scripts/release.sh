#!/usr/bin/env bash
# Release artifacts for people without .NET, from the native executable:
#   artifacts/release/diskimg-VERSION-linux-x64.tar.gz   diskimg, README.md, LICENSE in one folder
#   artifacts/release/diskimg_VERSION_amd64.deb          /usr/bin/diskimg (apt install ./diskimg_VERSION_amd64.deb)
# and with --rid linux-arm64 the same for 64-bit ARM (diskimg-VERSION-linux-arm64.tar.gz, diskimg_VERSION_arm64.deb),
# cross-compiled on an x64 host (scripts/install-cross-arm64.sh installs the toolchain).
#
#   scripts/release.sh [--no-build] [--rid linux-x64|linux-arm64]
#   (--no-build packs the executable already built: out/diskimg for linux-x64, out/linux-arm64/diskimg for arm64)
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
rid=linux-x64
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --rid) rid="${2:-}"; shift 2 ;;
    *) echo "release: unknown argument '$1'" >&2; exit 1 ;;
  esac
done
case "$rid" in
  linux-x64)
    [ "$(uname -m)" = x86_64 ] || { echo "release: linux-x64 artifacts are built on x86_64; this is $(uname -m)" >&2; exit 1; }
    exe=out/diskimg; debarch=amd64; objdump=objdump
    [ "$build" -eq 0 ] || ./build.sh ;;
  linux-arm64)
    exe=out/linux-arm64/diskimg; debarch=arm64; objdump=objdump
    if [ "$(uname -m)" = x86_64 ]; then objdump=aarch64-linux-gnu-objdump; fi
    if [ "$build" -eq 1 ]; then
      [ "$(uname -m)" != x86_64 ] || scripts/install-cross-arm64.sh
      command -v clang >/dev/null || { echo "release: Native AOT needs clang; run ./build.sh once first" >&2; exit 1; }
      dotnet publish src/DiskImage.Cli -c Release -r linux-arm64 -o out/linux-arm64 -nologo -v quiet
    fi ;;
  *) echo "release: no release artifacts for '$rid' (linux-x64 or linux-arm64)" >&2; exit 1 ;;
esac
[ -x "$exe" ] || { echo "release: $exe is missing; build it first" >&2; exit 1; }

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)
dest=artifacts/release
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Fixed timestamps and owners, so the same binary gives the same archive bytes.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)

name="diskimg-$version-$rid"
mkdir -p "$work/$name"
install -m 0755 "$exe" "$work/$name/diskimg"
install -m 0644 README.md LICENSE "$work/$name/"
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -C "$work" -czf "$dest/$name.tar.gz" "$name"
echo "$dest/$name.tar.gz"

# The .deb depends on the newest glibc symbol version the executable uses (all it links besides the kernel).
glibc=$($objdump -T "$exe" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
[ -n "$glibc" ] || glibc=2.17
deb="$work/deb"
mkdir -p "$deb/DEBIAN" "$deb/usr/bin" "$deb/usr/share/doc/diskimg"
install -m 0755 "$exe" "$deb/usr/bin/diskimg"
install -m 0644 README.md "$deb/usr/share/doc/diskimg/README.md"
install -m 0644 LICENSE "$deb/usr/share/doc/diskimg/copyright"
cat >"$deb/DEBIAN/control" <<CONTROL
Package: diskimg
Version: $version
Architecture: $debarch
Maintainer: DiskImage contributors
Depends: libc6 (>= $glibc)
Section: admin
Priority: optional
Installed-Size: $(du -sk "$deb/usr" | cut -f1)
Description: qemu-img-compatible disk image tool (raw, qcow2, ISO 9660)
 diskimg creates, inspects, checks, converts, snapshots and resizes raw, qcow2
 and ISO 9660 images with qemu-img's syntax and output. One native executable.
CONTROL
find "$deb" -exec touch -h -d "@$epoch" {} +
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$deb" "$dest/diskimg_${version}_${debarch}.deb" >/dev/null
echo "$dest/diskimg_${version}_${debarch}.deb"
