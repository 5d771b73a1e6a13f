#!/usr/bin/env bash
# Runs the three programs in samples/ (built by `dotnet build DiskImage.slnx -c Release`) on images made
# by qemu-img and genisoimage, and checks what they print and write. Exits non-zero on any mismatch.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { local name=$1; shift; dotnet "samples/$name/bin/Release/net10.0/$name.dll" "$@"; }
fail() { echo "samples: $*" >&2; exit 1; }

# Backup copy through the Stream: equal to qemu-img convert, sparse, and the printed hash is the file's.
qemu-img create -q -f qcow2 "$work/vm.qcow2" 256M
qemu-io -f qcow2 -c "write -P 0x11 1M 3M" -c "write -P 0x22 200M 64k" "$work/vm.qcow2" >/dev/null
out=$(run BackupCopy "$work/vm.qcow2" "$work/backup.raw")
qemu-img convert -f qcow2 -O raw "$work/vm.qcow2" "$work/reference.raw"
cmp "$work/backup.raw" "$work/reference.raw" || fail "BackupCopy wrote different bytes"
[ "$(cut -d' ' -f1 <<<"$out")" = "$(sha256sum "$work/backup.raw" | cut -d' ' -f1)" ] || fail "BackupCopy printed a wrong hash: $out"
[ "$(stat -c %b "$work/backup.raw")" -lt $((8 * 2048)) ] || fail "BackupCopy did not keep the copy sparse"

# ISO listing: every file genisoimage put in is listed with its size.
mkdir -p "$work/tree/docs"
printf 'hello\n' > "$work/tree/readme.txt"
head -c 5000 /dev/zero > "$work/tree/docs/zeros.bin"
genisoimage -quiet -R -J -V SAMPLE -o "$work/tree.iso" "$work/tree"
out=$(run IsoList "$work/tree.iso")
grep -q "^volume 'SAMPLE'" <<<"$out" || fail "IsoList: no volume line: $out"
grep -Eq "^- +6 /readme.txt$" <<<"$out" || fail "IsoList: readme.txt missing: $out"
grep -Eq "^- +5000 /docs/zeros.bin$" <<<"$out" || fail "IsoList: docs/zeros.bin missing: $out"

# Thin/thick report: a thin qcow2, a preallocated one, a sparse raw (qemu-img writes its first block) and a text file.
mkdir "$work/images"
qemu-img create -q -f qcow2 "$work/images/thin.qcow2" 64M
qemu-io -f qcow2 -c "write -P 1 0 1M" "$work/images/thin.qcow2" >/dev/null
qemu-img create -q -f qcow2 -o preallocation=full "$work/images/thick.qcow2" 64M
qemu-img create -q -f raw "$work/images/sparse.raw" 64M
echo "not an image" > "$work/images/notes.txt"
out=$(run ThinReport "$work/images")
grep -Eq "^thin.qcow2 +qcow2 +67108864 +1048576 .*thin$" <<<"$out" || fail "ThinReport: thin.qcow2: $out"
grep -Eq "^thick.qcow2 +qcow2 +67108864 +67108864 .*thick$" <<<"$out" || fail "ThinReport: thick.qcow2: $out"
grep -Eq "^sparse.raw +raw +67108864 +[0-9]{1,5} .*thin$" <<<"$out" || fail "ThinReport: sparse.raw: $out"
echo "samples: 3 programs ran and checked"
