#!/usr/bin/env bash
# Builds the solution and the Native AOT diskimg (./build.sh, out/diskimg) and runs every test: unit tests,
# interop tests against qemu-img/qemu-io, xorriso, osirrox and isoinfo (the native binary's smoke tests among
# them), then the package and release checks (scripts/check-pack.sh, scripts/check-release.sh), each counted as
# one test. Installs those tools first when they are missing (needs root or sudo).
# Prints "N passed, N failed, N skipped" as its last line; exits non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v qemu-img >/dev/null || need+=(qemu-utils)
# qemu-img's curl (http/https/ftp/ftps), ssh, nfs and iscsi modules, which those drivers' tests compare with.
{ compgen -G '/usr/lib/*/qemu/block-curl.so' && compgen -G '/usr/lib/*/qemu/block-ssh.so' && compgen -G '/usr/lib/*/qemu/block-nfs.so' && compgen -G '/usr/lib/*/qemu/block-iscsi.so'; } >/dev/null || need+=(qemu-block-extra)
command -v xorriso >/dev/null || need+=(xorriso)
command -v genisoimage >/dev/null || need+=(genisoimage)
# Headless browser that judges the SVG and HTML allocation maps.
command -v chromium >/dev/null || need+=(chromium)
command -v unzip >/dev/null || need+=(unzip)   # scripts/check-pack.sh reads the packages
# Counts the syscalls of diskimg and qemu-img where a test holds their costs against each other.
command -v strace >/dev/null || need+=(strace)
# NBD peers: libnbd's nbdinfo/nbdcopy, nbdkit's plugins, and certtool for the TLS certificates.
command -v nbdinfo >/dev/null || need+=(libnbd-bin)
command -v nbdkit >/dev/null || need+=(nbdkit)
command -v certtool >/dev/null || need+=(gnutls-bin)
# Independent readers of the VMware and Hyper-V formats we write.
command -v vmdkinfo >/dev/null || need+=(libvmdk-utils)
command -v vhdiinfo >/dev/null || need+=(libvhdi-utils)
# cloop images (create_compressed_fs) for the read-only cloop reader.
command -v create_compressed_fs >/dev/null || need+=(cloop-utils)
# The ssh:// tests: a private sshd and ssh-agent (with ssh-keygen and ssh-add).
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-agent >/dev/null || need+=(openssh-client)
# The ftp:// and ftps:// tests' server: pyftpdlib (TLS through pyOpenSSL), run by the system python3.
/usr/bin/python3 -c 'import pyftpdlib, OpenSSL' 2>/dev/null || need+=(python3-pyftpdlib python3-openssl)
# The nfs:// tests: an NFS v3 server (nfs-ganesha with its VFS backend) and the portmapper it registers with.
command -v ganesha.nfsd >/dev/null || need+=(nfs-ganesha)
compgen -G '/usr/lib/*/ganesha/libfsalvfs.so' >/dev/null || need+=(nfs-ganesha-vfs)
[ -x /usr/sbin/rpcbind ] || need+=(rpcbind)
# The iscsi:// tests: a private userspace iSCSI target (tgtd, tgtadm).
[ -x /usr/sbin/tgtd ] || need+=(tgt)
# An independent reader of the LUKS1 headers we write.
command -v cryptsetup >/dev/null || need+=(cryptsetup-bin)
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

./build.sh   # out/diskimg, the native executable the Native tests run (installs clang and zlib1g-dev when missing)
dotnet build DiskImage.slnx -c Release -nologo -v quiet "$@"
status=0
dotnet test DiskImage.slnx -c Release --no-build -nologo \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?

# The programs in samples/ must build (above) and run.
./scripts/run-samples.sh || status=$?
# The public-API gate holds; what ships besides the binary: the dotnet tool and library packages, the tarball and the .deb.
script_passed=0; script_failed=0
for check in "scripts/check-public-api-gate.sh" "scripts/check-pack.sh" "scripts/check-release.sh --no-build"; do
  echo "== $check" >&2
  if $check >&2; then script_passed=$((script_passed + 1)); else script_failed=$((script_failed + 1)); echo "FAILED: $check" >&2; fi
done

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  s=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
done
passed=$((passed + script_passed)); failed=$((failed + script_failed))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # the runner failed without reporting a failed test (build or host crash)
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
