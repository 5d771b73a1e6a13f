#!/usr/bin/env bash
# Release artifacts for people without .NET, from the native executable ./build.sh leaves in out/:
#   artifacts/release/diskimg-VERSION-linux-x64.tar.gz   diskimg, README.md, LICENSE in one folder
#   artifacts/release/diskimg_VERSION_amd64.deb          /usr/bin/diskimg (apt install ./diskimg_VERSION_amd64.deb)
#
#   scripts/release.sh [--no-build]    (--no-build packs the out/diskimg already there)
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${1:-}" = "--no-build" ] || ./build.sh
[ -x out/diskimg ] || { echo "release: out/diskimg is missing; run ./build.sh" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "release: the release artifacts are linux-x64; this is $(uname -m)" >&2; exit 1; }

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)
dest=artifacts/release
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Fixed timestamps and owners, so the same binary gives the same archive bytes.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)

name="diskimg-$version-linux-x64"
mkdir -p "$work/$name"
install -m 0755 out/diskimg "$work/$name/diskimg"
install -m 0644 README.md LICENSE "$work/$name/"
tar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner -C "$work" -czf "$dest/$name.tar.gz" "$name"
echo "$dest/$name.tar.gz"

# The .deb depends on the newest glibc symbol version the executable uses (all it links besides the kernel).
glibc=$(objdump -T out/diskimg 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
[ -n "$glibc" ] || glibc=2.17
deb="$work/deb"
mkdir -p "$deb/DEBIAN" "$deb/usr/bin" "$deb/usr/share/doc/diskimg"
install -m 0755 out/diskimg "$deb/usr/bin/diskimg"
install -m 0644 README.md "$deb/usr/share/doc/diskimg/README.md"
install -m 0644 LICENSE "$deb/usr/share/doc/diskimg/copyright"
cat >"$deb/DEBIAN/control" <<CONTROL
Package: diskimg
Version: $version
Architecture: amd64
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
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$deb" "$dest/diskimg_${version}_amd64.deb" >/dev/null
echo "$dest/diskimg_${version}_amd64.deb"
