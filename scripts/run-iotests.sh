#!/usr/bin/env bash
# Differential run of QEMU's bash iotests: each chosen test runs twice on this machine, once with the installed
# qemu-img/qemu-io and once with diskimg in their place (diskimg as qemu-img, `diskimg io` as qemu-io). A test
# matches when both runs print the same output after the test's own filters. QEMU's files are never part of this
# repository: they are read from a QEMU source tree given with --qemu-src, or fetched into a cache with
# `apt-get source --download-only qemu` when a deb-src entry is configured.
#
#   scripts/run-iotests.sh [options] [TEST...]
#
#   TEST: a number such as 001, a range such as 001-099 or 100-999, a named test such as tests/qemu-img-bitmaps
#   (or just qemu-img-bitmaps), or `named` for every test under tests/qemu-iotests/tests.
#
#   --qemu-src DIR     QEMU source tree (holding tests/qemu-iotests); default: the apt source cache (see above)
#   --diskimg PATH     diskimg executable; default: out/diskimg, else the Release build output
#   --formats "F..."   image formats to run (default: "qcow2 raw"; also luks, vmdk, vpc, vhdx, vdi, qcow, qed,
#                      parallels and the read-only bochs, cloop and dmg), each run as QEMU's `check -FMT` runs it:
#                      luks through --image-opts with a key secret, vmdk with IMGOPTS=zeroed_grain=on, bochs, cloop
#                      and dmg as non-generic formats (only their own tests)
#   --protocol P       the images' protocol, as `check -P`: `file` (default), `nbd` (each test's image served by
#                      the installed qemu-nbd over a Unix socket, the tools under comparison as its NBD clients),
#                      `ssh` (images named ssh://127.0.0.1/PATH, reached over SFTP as the current user on port 22;
#                      see "ssh" below) or `nfs` (images named nfs://127.0.0.1/PATH: an nfs-ganesha NFSv3 server,
#                      started for the run with rpcbind when none answers on port 111, exports the run directory at
#                      its own path; an NFS server already on port 2049, e.g. a test run's, is waited for, then the
#                      run gives up)
#   --results DIR      where outputs and diffs go (default: /tmp/diskimg-iotests)
#   --jobs N           tests run in parallel (default: 2)
#   --timeout SEC      limit per test and run (default: 120)
#   --status-md FILE   also write the per-test table as Markdown to FILE
#   --cache DIR        apt source cache (default: ${XDG_CACHE_HOME:-~/.cache}/diskimg-iotests)
#
# Default tests: every test numbered 001-099. Bash and Python tests run alike: a test counts as runnable for a format
# when the qemu run neither skips it (notrun, which covers a Python test's supported_fmts) nor needs the QEMU system
# emulator or storage daemon (not part of this comparison; stubs stand in for them and mark the tests that call
# them needs-qemu-system). A Python test runs with python3 and the environment QEMU's check gives it (iotests.py and
# the `qemu` package from the tree's python/ directory on PYTHONPATH, QEMU_IMG_PROG/QEMU_IO_PROG pointing at the
# tool under comparison); its output is compared like a bash test's. Both runs use the installed qemu-nbd. A Python
# test that ends because a program it needs is not installed (149 needs sudo and cryptsetup) is not-run, and a test
# of QEMU's own test code (group `meta`: 297, its linters) is listed as meta.
#
# ssh: QEMU's ssh driver reaches 127.0.0.1:22 as the current user, authenticates with the ssh-agent's keys and
# checks the host key against ~/.ssh/known_hosts of the user's passwd home; diskimg uses the agent's keys only. When
# nothing listens on 127.0.0.1:22, the script (as root, which port 22 needs) starts a private sshd there for the run
# with a fresh host key, accepting only a fresh key held by a private ssh-agent, and adds that host key's line to
# ~/.ssh/known_hosts; on exit it stops both and restores the file as it was (only that line removed if the file
# changed meanwhile; the file, ~/.ssh and /run/sshd removed when the run made them), so the setup is as before. When a server already listens there, it is used as it is
# and must accept the current ssh-agent's key (SSH_AUTH_SOCK) with a known host key, as for `check -ssh`.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
qemu_src=""
diskimg=""
formats="qcow2 raw"
protocol=file
results=/tmp/diskimg-iotests
jobs=2
timeout_s=120
status_md=""
cache="${XDG_CACHE_HOME:-$HOME/.cache}/diskimg-iotests"
selection=()

die() { echo "run-iotests: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --qemu-src) qemu_src=$2; shift 2 ;;
    --diskimg) diskimg=$2; shift 2 ;;
    --formats) formats=$2; shift 2 ;;
    --protocol) protocol=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --status-md) status_md=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) selection+=("$1"); shift ;;
  esac
done

case $protocol in file | nbd | ssh | nfs) ;; *) die "unknown protocol '$protocol' (file, nbd, ssh or nfs)" ;; esac

# --- QEMU's iotests: given, cached, or fetched from the distribution's source package ---
find_iotests() { # $1: a directory that may hold a QEMU tree
  local d
  for d in "$1" "$1"/qemu-*; do
    [ -f "$d/tests/qemu-iotests/common.rc" ] && { echo "$d/tests/qemu-iotests"; return 0; }
  done
  return 1
}

if [ -n "$qemu_src" ]; then
  iotests=$(find_iotests "$qemu_src") || die "no tests/qemu-iotests under '$qemu_src'"
elif ! iotests=$(find_iotests "$cache"); then
  if grep -rqs '^[^#]*deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null; then
    echo "Fetching QEMU's source package into $cache (apt-get source --download-only qemu) ..." >&2
    mkdir -p "$cache" && (cd "$cache" && apt-get source --download-only qemu >&2) || die "apt-get source failed"
    orig=$(ls "$cache"/qemu_*.orig.tar.* 2>/dev/null | head -1)
    [ -n "$orig" ] || die "no qemu_*.orig.tar.* in $cache after apt-get source"
    tar -xf "$orig" -C "$cache" || die "could not unpack $orig"
    iotests=$(find_iotests "$cache") || die "no tests/qemu-iotests in $orig"
  else
    die "no QEMU source: pass --qemu-src DIR (a checkout of https://gitlab.com/qemu-project/qemu at the tag that
matches the installed qemu-img, e.g. v$(qemu-img --version 2>/dev/null | sed -n 's/.*version \([0-9.]*\).*/\1/p')),
or add a deb-src entry to apt's sources so that 'apt-get source --download-only qemu' works"
  fi
fi

# --- the two sets of programs ---
if [ -z "$diskimg" ]; then
  for c in "$repo/out/diskimg" "$repo"/src/DiskImage.Cli/bin/Release/*/diskimg; do
    [ -x "$c" ] && { diskimg=$c; break; }
  done
  [ -n "$diskimg" ] || die "no diskimg build: run ./build.sh or 'dotnet build src/DiskImage.Cli -c Release', or pass --diskimg"
fi
diskimg=$(cd "$(dirname "$diskimg")" && pwd)/$(basename "$diskimg")
[ -x "$diskimg" ] || die "not executable: $diskimg"
for t in qemu-img qemu-io qemu-nbd timeout diff; do command -v "$t" >/dev/null || die "'$t' is not installed"; done

rm -rf "$results" && mkdir -p "$results" || die "cannot create $results"
results=$(cd "$results" && pwd)
bin="$results/bin"
mkdir -p "$bin/qemu" "$bin/diskimg"
# The tests run from a private copy, so nothing is ever written into the QEMU tree.
mkdir -p "$results/src" && cp -r "$iotests" "$results/src/qemu-iotests" || die "cannot copy $iotests"
# The Python tests import the `qemu` package (machine, qmp, utils) from the tree's python/ directory.
[ -d "$iotests/../../python/qemu" ] && cp -r "$iotests/../../python" "$results/src/python"
iotests="$results/src/qemu-iotests"
mkdir -p "$results/run"

# --- --protocol nfs: one NFSv3 server (nfs-ganesha, VFS backend) exporting the run directory at its own path ---
nfs_root=/tmp/diskimg-iotests-nfs  # fixed, so that a run can stop the server a killed run left behind
nfs_ganesha="" nfs_rpcbind=""
nfs_accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
nfs_stop() {
  local p
  for p in $nfs_ganesha $nfs_rpcbind; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  nfs_ganesha="" nfs_rpcbind=""
}
nfs_start() {
  local tool p i
  for tool in ganesha.nfsd rpcbind; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "'$tool' is not installed (needed by --protocol nfs)"
  done
  # A server of ours that a killed run left behind is stopped (found by its pid file, checked to be ganesha).
  p=$(cat "$nfs_root/ganesha.pid" 2>/dev/null)
  if [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = ganesha.nfsd ]; then
    kill "$p"; for i in $(seq 100); do [ -d "/proc/$p" ] || break; sleep 0.1; done
  fi
  # Another NFS server (the interop tests' fixture, say) owns the machine-wide ports: wait for it to go.
  for i in $(seq 300); do nfs_accepts 2049 || break; [ "$i" = 1 ] && echo "run-iotests: waiting for the NFS server on port 2049 to stop ..." >&2; sleep 1; done
  nfs_accepts 2049 && die "an NFS server still listens on port 2049; stop it and run again"
  rm -rf "$nfs_root" && mkdir -p "$nfs_root" || die "cannot create $nfs_root"
  if ! nfs_accepts 111; then
    "$(command -v rpcbind || echo /usr/sbin/rpcbind)" -f -w >/dev/null 2>&1 &
    nfs_rpcbind=$!
    for i in $(seq 100); do nfs_accepts 111 && break; sleep 0.1; done
  fi
  cat >"$nfs_root/ganesha.conf" <<CONF
NFS_CORE_PARAM { Protocols = 3; NFS_Port = 2049; MNT_Port = 20048; Enable_NLM = false; Enable_RQUOTA = false; }
EXPORT { Export_Id = 1; Path = $results/run; Pseudo = $results/run; Access_Type = RW; Squash = No_Root_Squash;
         Protocols = 3; Transports = TCP; SecType = sys; FSAL { Name = VFS; } }
CONF
  "$(command -v ganesha.nfsd || echo /usr/sbin/ganesha.nfsd)" -F -f "$nfs_root/ganesha.conf" -L "$nfs_root/ganesha.log" \
    -p "$nfs_root/ganesha.pid" >/dev/null 2>&1 &
  nfs_ganesha=$!
  # Ready when qemu-img reads a file through the export (ganesha answers a few seconds after it listens).
  : >"$results/run/ready.raw"
  for i in $(seq 600); do
    qemu-img info "nfs://127.0.0.1$results/run/ready.raw" >/dev/null 2>&1 && return 0
    kill -0 "$nfs_ganesha" 2>/dev/null || break
    sleep 0.1
  done
  nfs_stop
  die "ganesha.nfsd did not start: $(tail -5 "$nfs_root/ganesha.log" 2>/dev/null)"
}
if [ "$protocol" = nfs ]; then
  trap nfs_stop EXIT
  trap 'exit 130' INT TERM
  nfs_start
fi

ln -s "$(command -v qemu-img)" "$bin/qemu/qemu-img"
ln -s "$(command -v qemu-io)" "$bin/qemu/qemu-io"
# diskimg names itself after argv[0], as QEMU's tools do, so its messages read "qemu-img: ..." here.
printf '#!/bin/bash\nexec -a qemu-img "%s" "$@"\n' "$diskimg" >"$bin/diskimg/qemu-img"
printf '#!/bin/bash\nexec -a qemu-io "%s" io "$@"\n' "$diskimg" >"$bin/diskimg/qemu-io"
# The system emulator and storage daemon are outside this comparison: stubs mark the tests that call them. The
# emulator stub answers the two questions iotests.py asks before every Python test, as qemu-system-x86_64 7.2 does:
# `-drive format=help` (the installed block layer's formats, qemu-img's list) and `-device help` (its virtio-blk and
# virtio-scsi devices). A test that then starts a VM still reaches the stub and is marked needs-qemu-system.
block_formats=$(qemu-img --help | sed -n 's/^Supported formats: //p')
for stub in qemu-system-x86_64 qemu-storage-daemon; do
  {
    echo '#!/bin/sh'
    if [ $stub = qemu-system-x86_64 ]; then
      echo 'case " $* " in'
      printf "  *\" -drive format=help \"*) printf 'Supported formats: %%s\\\\nSupported formats (read-only): %%s\\\\n' '%s' '%s'; exit 0 ;;\n" \
        "$block_formats" "$block_formats"
      echo "  *\" -M none -device help \"*) printf 'Storage devices:\\nname \"virtio-blk-pci\", bus PCI, alias \"virtio-blk\"\\nname \"virtio-scsi-pci\", bus PCI, alias \"virtio-scsi\"\\n'; exit 0 ;;"
      echo 'esac'
    fi
    echo 'touch "$TEST_DIR/.needs-qemu-system"'
    # A Python test that starts a VM would go on to wait for each QMP connection in vain: it is ended at once.
    echo '[ -n "${IOTESTS_STOP_CALLER:-}" ] && kill "$PPID"'
    echo "echo '$stub is not part of this comparison' >&2"
    echo 'exit 1'
  } >"$bin/$stub"
done
chmod +x "$bin"/*/qemu-i* "$bin"/qemu-*

# --- which tests ---
# A test is named by its path below tests/qemu-iotests: 001, or tests/qemu-img-bitmaps for the named ones.
is_test() { # a file with a reference output (<test>.out, <test>.out.<fmt> or <test>.<machine>.out)
  local r
  [ -f "$iotests/$1" ] || return 1
  for r in "$iotests/$1".out* "$iotests/$1".*.out; do [ -f "$r" ] && return 0; done
  return 1
}
expand() { # 001, 001-999, tests/NAME (or NAME), or "named" (every test under tests/) -> tests present
  local a b n f
  case "$1" in
    named) for f in "$iotests"/tests/*; do
             case $f in *.out | *.out.*) continue ;; esac
             is_test "tests/${f##*/}" && echo "tests/${f##*/}"
           done ;;
    [0-9]*-[0-9]* | [0-9]*)
      case "$1" in *-*) a=${1%-*}; b=${1#*-} ;; *) a=$1; b=$1 ;; esac
      for n in $(seq "$((10#$a))" "$((10#$b))"); do
        f=$(printf '%03d' "$n")
        is_test "$f" && echo "$f"
      done ;;
    tests/*) is_test "$1" && echo "$1" ;;
    *) is_test "tests/$1" && echo "tests/$1" ;;
  esac
}
[ ${#selection[@]} -gt 0 ] || selection=(001-099)
tests=$(for s in "${selection[@]}"; do expand "$s"; done | sort -u)
[ -n "$tests" ] || die "no tests selected"

# The reference output the way QEMU's check picks it: <test>.out.<fmt>, then <test>.<machine>.out, then <test>.out.
reference() { # test fmt
  local r
  for r in "$iotests/$1.out.$2" "$iotests/$1.pc.out" "$iotests/$1.out"; do [ -f "$r" ] && { echo "$r"; return; }; done
  echo "$iotests/$1.out"
}

# --- one run of one test: the environment QEMU's check (testenv.py) gives a bash test ---
run_one() { # side fmt test
  local side=$1 fmt=$2 t=$3
  local dir="$results/run/$side/$fmt/${t//\//_}"
  local sock
  sock=$(mktemp -d /tmp/iot-sock.XXXXXX) # socket paths must stay short
  rm -rf "$dir" && mkdir -p "$dir"
  (
    cd "$(dirname "$iotests/$t")" || exit 1  # QEMU's check runs each test from its own directory
    export TEST_DIR="$dir" SOCK_DIR="$sock" SAMPLE_IMG_DIR="$iotests/sample_images" PYTHON=python3
    export PYTHONPATH="$iotests:$(dirname "$iotests")/python" PYTHONDONTWRITEBYTECODE=1
    export QEMU_PROG="$bin/qemu-system-x86_64" QSD_PROG="$bin/qemu-storage-daemon"
    export QEMU_IMG_PROG="$bin/$side/qemu-img" QEMU_IO_PROG="$bin/$side/qemu-io" QEMU_NBD_PROG="$(command -v qemu-nbd)"
    export QEMU_OPTIONS="-nodefaults -display none -accel qtest" QEMU_DEFAULT_MACHINE=pc
    export QEMU_IO_OPTIONS_NO_FMT="--cache writeback --aio threads"
    export IMGFMT="$fmt" IMGPROTO="$protocol" AIOMODE=threads CACHEMODE=writeback CACHEMODE_IS_DEFAULT=true
    export IMGFMT_GENERIC=true MALLOC_PERTURB_=123
    # As `check -bochs`/`-cloop`: read-only formats are not generic (tests that create images skip them).
    case $fmt in bochs|cloop|dmg) IMGFMT_GENERIC=false ;; esac
    unset IMGOPTS IMGKEYSECRET QEMU_IMG_OPTIONS QEMU_NBD_OPTIONS GDB_OPTIONS VALGRIND_QEMU PRINT_QEMU
    if [ "$fmt" = luks ]; then
      # As `check -luks`: images are named by --image-opts with a key secret (common.rc adds the secret object
      # and key-secret=keysec0), qemu-io gets no -f, and key slots are created with a short iteration time.
      export IMGOPTSSYNTAX=true IMGKEYSECRET=123456 IMGOPTS=iter-time=10
      export QEMU_IO_OPTIONS="--cache writeback --aio threads"
    else
      export IMGOPTSSYNTAX=false QEMU_IO_OPTIONS="--cache writeback --aio threads -f $fmt"
      # As `check -vmdk`: every image is created with zero grains on.
      [ "$fmt" = vmdk ] && export IMGOPTS=zeroed_grain=on
    fi
    # As check does: a test whose first line names python3 runs with python3, any other with bash.
    local interp=bash
    head -1 "$iotests/$t" | grep -q python3 && { interp=python3; export IOTESTS_STOP_CALLER=1; }
    timeout -k 5 "$timeout_s" "$interp" "$iotests/$t" >"$dir/out" 2>&1 </dev/null
    echo $? >"$dir/rc"
  )
  rm -rf "$sock"
}

case_one() { # fmt test: qemu first; diskimg only when qemu ran the test
  local fmt=$1 t=$2
  local id=${t//\//_} # tests/NAME -> tests_NAME for file names
  local out="$results/$fmt" q="$results/run/qemu/$fmt/$id" d="$results/run/diskimg/$fmt/$id"
  local ref ref_state state
  if grep -q '^# group:.* meta\b' "$iotests/$t"; then
    # QEMU's own checks of its test code (297 runs pylint and mypy on it): neither tool takes part.
    echo "$t $fmt meta - checks QEMU's test code, runs neither qemu-img nor qemu-io" >"$out/$id.status"; return
  fi
  run_one qemu "$fmt" "$t"
  if [ -f "$q/${t##*/}.notrun" ]; then
    echo "$t $fmt not-run - $(tr '\n' ' ' <"$q/${t##*/}.notrun")" >"$out/$id.status"; return
  fi
  if [ -f "$q/.needs-qemu-system" ]; then
    echo "$t $fmt needs-qemu-system - uses the QEMU system emulator or storage daemon" >"$out/$id.status"; return
  fi
  local missing
  missing=$(sed -n "s/^FileNotFoundError: \[Errno 2\] No such file or directory: '\([^/']*\)'$/\1/p" "$q/out" | head -1)
  if [ -n "$missing" ]; then
    # A Python test that needs a program this machine lacks (149: sudo and cryptsetup) ends before either tool runs.
    echo "$t $fmt not-run - needs the program '$missing', which is not installed" >"$out/$id.status"; return
  fi
  cp "$q/out" "$out/$id.qemu.out"
  ref=$(reference "$t" "$fmt")
  if [ "$(cat "$q/rc")" = 0 ] && diff -q "$ref" "$q/out" >/dev/null; then ref_state=pass; else
    ref_state=fail; diff -u "$ref" "$q/out" >"$out/$id.qemu-vs-ref.diff"
  fi
  run_one diskimg "$fmt" "$t"
  cp "$d/out" "$out/$id.diskimg.out"
  # Each tool runs in its own directory; a path the test's filters leave alone (qemu-io naming the image it could
  # not open) is compared with that directory replaced by one name.
  # Likewise the random socket directory of each run (an NBD URI in an error line the filters leave alone).
  sed -e "s#$q#RUN_DIR#g" -e 's#/tmp/iot-sock\.[A-Za-z0-9]*#SOCK_DIR#g' "$q/out" >"$out/$id.qemu.cmp"
  sed -e "s#$d#RUN_DIR#g" -e 's#/tmp/iot-sock\.[A-Za-z0-9]*#SOCK_DIR#g' "$d/out" >"$out/$id.diskimg.cmp"
  if [ "$(cat "$d/rc")" = 124 ] || [ "$(cat "$d/rc")" = 137 ]; then
    state=timeout
  elif diff -q "$out/$id.qemu.cmp" "$out/$id.diskimg.cmp" >/dev/null && [ "$(cat "$q/rc")" = "$(cat "$d/rc")" ]; then
    state=match
  else
    state=differ
  fi
  [ $state = match ] || diff -u --label "qemu $t ($fmt)" --label "diskimg $t ($fmt)" "$out/$id.qemu.cmp" "$out/$id.diskimg.cmp" >"$out/$id.diff"
  echo "$t $fmt $state $ref_state $( [ -f "$out/$id.diff" ] && awk '/^[-+]/ && !/^(---|\+\+\+) /' "$out/$id.diff" | wc -l || echo 0)" >"$out/$id.status"
}

# --- ssh (--protocol ssh): a server on 127.0.0.1:22 that both runs reach as the current user ---
ssh_dir="" ssh_sshd_pid="" ssh_agent_pid="" ssh_known_line="" ssh_known_file="" ssh_made_file="" ssh_made_dir="" ssh_made_run=""
ssh_listening() { (exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null; }
ssh_setup() {
  # QEMU's filters and iotests.py name the user by $USER, which a login shell sets and a bare environment may not.
  export USER=${USER:-$(id -un)}
  local t
  for t in ssh ssh-keygen ssh-agent ssh-add; do command -v "$t" >/dev/null || die "'$t' is not installed"; done
  if ssh_listening; then
    # Someone else's server: used as check -ssh would use it, if it lets the current agent's key in.
    ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=10 -p 22 -l "$USER" 127.0.0.1 true </dev/null ||
      die "a server listens on 127.0.0.1:22 but does not let $USER in with the ssh-agent's key and a known host key
(QEMU's ssh driver needs both); stop it to have this script start a private one, or set it up"
    echo "ssh: using the server on 127.0.0.1:22 and the ssh-agent at ${SSH_AUTH_SOCK:-(none)}" >&2
    return
  fi
  [ -x /usr/sbin/sshd ] || die "nothing listens on 127.0.0.1:22 and /usr/sbin/sshd (openssh-server) is not installed"
  [ "$(id -u)" = 0 ] || die "nothing listens on 127.0.0.1:22 and only root can start a server on port 22 there"
  ssh_dir=$(mktemp -d /tmp/iot-ssh.XXXXXX) || die "cannot create a directory for sshd"
  ssh-keygen -q -t ed25519 -N '' -C '' -f "$ssh_dir/host_key" && ssh-keygen -q -t ed25519 -N '' -C '' -f "$ssh_dir/user_key" ||
    die "ssh-keygen failed"
  cp "$ssh_dir/user_key.pub" "$ssh_dir/authorized_keys"
  cat >"$ssh_dir/sshd_config" <<CONF
HostKey $ssh_dir/host_key
AuthorizedKeysFile $ssh_dir/authorized_keys
PidFile $ssh_dir/sshd.pid
ListenAddress 127.0.0.1
Port 22
StrictModes no
UsePAM no
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 100
Subsystem sftp internal-sftp
CONF
  # sshd started by root wants its privilege separation directory, which its service unit would make.
  [ -d /run/sshd ] || { mkdir -p /run/sshd && ssh_made_run=/run/sshd; }
  /usr/sbin/sshd -D -f "$ssh_dir/sshd_config" -E "$ssh_dir/sshd.log" &
  ssh_sshd_pid=$!
  ssh-agent -D -a "$ssh_dir/agent.sock" >/dev/null &
  ssh_agent_pid=$!
  for t in $(seq 100); do [ -S "$ssh_dir/agent.sock" ] && ssh_listening && break; sleep 0.1; done
  ssh_listening || die "the private sshd did not start: $(cat "$ssh_dir/sshd.log" 2>/dev/null)"
  export SSH_AUTH_SOCK="$ssh_dir/agent.sock"
  ssh-add -q "$ssh_dir/user_key" 2>/dev/null || die "ssh-add failed"
  # The host key made known where libssh looks (the passwd home's ~/.ssh/known_hosts), undone by ssh_teardown.
  local home
  home=$(getent passwd "$(id -un)" | cut -d: -f6)
  [ -n "$home" ] || die "no home directory for $(id -un) in the password database"
  ssh_known_file="$home/.ssh/known_hosts"
  [ -d "$home/.ssh" ] || { mkdir -m 700 "$home/.ssh" || die "cannot create $home/.ssh"; ssh_made_dir="$home/.ssh"; }
  [ -e "$ssh_known_file" ] || ssh_made_file=$ssh_known_file
  ssh_known_line="127.0.0.1 $(cut -d' ' -f1,2 "$ssh_dir/host_key.pub")"
  [ -n "$ssh_made_file" ] || cp -p "$ssh_known_file" "$ssh_dir/known_hosts.before" || die "cannot read $ssh_known_file"
  {
    # A last line without its newline keeps its own line.
    [ -s "$ssh_known_file" ] && [ -n "$(tail -c 1 "$ssh_known_file")" ] && echo
    printf '%s\n' "$ssh_known_line"
  } >>"$ssh_known_file" || die "cannot add the host key to $ssh_known_file"
  cp "$ssh_known_file" "$ssh_dir/known_hosts.during"
  echo "ssh: private sshd on 127.0.0.1:22 (log $ssh_dir/sshd.log), its host key in $ssh_known_file for this run" >&2
}
ssh_teardown() {
  if [ -n "$ssh_known_line" ] && [ -f "$ssh_known_file" ]; then
    local rest
    if cmp -s "$ssh_known_file" "$ssh_dir/known_hosts.during"; then
      # Unchanged since: the file as it was, byte for byte (or gone when the run made it).
      if [ -n "$ssh_made_file" ]; then rm -f "$ssh_known_file"; else cat "$ssh_dir/known_hosts.before" >"$ssh_known_file"; fi
    else
      # Written to meanwhile: exactly the added line goes, anything else stays.
      rest=$(grep -vxF -- "$ssh_known_line" "$ssh_known_file")
      printf '%s\n' "$rest" >"$ssh_known_file"
    fi
    [ -n "$ssh_made_dir" ] && rmdir "$ssh_made_dir" 2>/dev/null
  fi
  [ -n "$ssh_sshd_pid" ] && kill "$ssh_sshd_pid" 2>/dev/null
  [ -n "$ssh_agent_pid" ] && kill "$ssh_agent_pid" 2>/dev/null
  [ -n "$ssh_dir" ] && { wait "$ssh_sshd_pid" "$ssh_agent_pid" 2>/dev/null; rm -rf "$ssh_dir"; }
  [ -n "$ssh_made_run" ] && rmdir "$ssh_made_run" 2>/dev/null
  ssh_known_line="" ssh_sshd_pid="" ssh_agent_pid="" ssh_dir="" ssh_made_run=""
}
if [ "$protocol" = ssh ]; then
  trap ssh_teardown EXIT
  trap 'exit 130' INT TERM
  ssh_setup
fi

export -f run_one case_one reference
export results iotests bin timeout_s protocol

for fmt in $formats; do mkdir -p "$results/$fmt"; done
start=$(date +%s)
for fmt in $formats; do for t in $tests; do echo "$fmt $t"; done; done |
  xargs -P "$jobs" -L 1 bash -c 'case_one "$0" "$1"'

# --- summary ---
summary="$results/summary.txt"
{
  printf '%-4s %-6s %-18s %-10s %s\n' test format result qemu-vs-ref "diff lines / reason"
  for fmt in $formats; do for t in $tests; do
    read -r tt ff st rest <"$results/$fmt/${t//\//_}.status"
    case $st in
      not-run | needs-qemu-system | meta) printf '%-4s %-6s %-18s %-10s %s\n' "$tt" "$ff" "$st" - "${rest#- }" ;;
      *) read -r ref n <<<"$rest"; printf '%-4s %-6s %-18s %-10s %s\n' "$tt" "$ff" "$st" "$ref" "$n" ;;
    esac
  done; done
} >"$summary"
runnable=$(awk 'NR>1 && ($3=="match"||$3=="differ"||$3=="timeout")' "$summary" | wc -l)
matched=$(awk 'NR>1 && $3=="match"' "$summary" | wc -l)
qemu_pass=$(awk 'NR>1 && $4=="pass"' "$summary" | wc -l)
line="$matched of $runnable matched (test x format cases that qemu runs; qemu itself matches its reference in $qemu_pass)"
# The same count for the bash tests and for the Python tests alone.
py_tests=" $(for t in $tests; do head -1 "$iotests/$t" | grep -q python3 && printf '%s ' "$t"; done)"
count() { # kind (bash|python) states...
  awk -v py="$py_tests" -v kind="$1" -v states=" ${*:2} " \
    'NR>1 && index(states, " " $3 " ") && ((index(py, " " $1 " ") > 0) == (kind == "python"))' "$summary" | wc -l
}
split="bash tests: $(count bash match) of $(count bash match differ timeout) matched; Python tests: $(count python match) of $(count python match differ timeout) matched"
echo "$line" >>"$summary"
echo "$split" >>"$summary"
cat "$summary"
echo "results and diffs: $results (qemu's output vs diskimg's: <format>/<test>.diff) in $(( $(date +%s) - start )) s"

if [ -n "$status_md" ]; then
  {
    echo "# iotests differential status"
    echo
    echo "Generated by scripts/run-iotests.sh on $(date -u '+%Y-%m-%d %H:%M UTC') from $(git -C "$repo" rev-parse --abbrev-ref HEAD 2>/dev/null)@$(git -C "$repo" rev-parse --short HEAD 2>/dev/null)."
    echo "Diffs (qemu's output vs diskimg's): $results/<format>/<test>.diff"
    echo
    echo "**$line**"
    echo
    echo "$split"
    echo
    echo "| test | format | result | qemu vs .out | diff lines / reason |"
    echo "|---|---|---|---|---|"
    awk 'NR>1 && NF>=3 && $1 ~ /^([0-9]+|tests\/.*)$/ { r=""; for (i=5;i<=NF;i++) r=r" "$i; printf "| %s | %s | %s | %s |%s |\n", $1, $2, $3, $4, r }' "$summary"
  } >"$status_md"
fi
