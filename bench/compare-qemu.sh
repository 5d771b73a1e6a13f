#!/usr/bin/env bash
# Times diskimg against qemu-img on the same jobs and writes the table into docs/BENCHMARKS.md.
#
#   bench/compare-qemu.sh [--runs N] [--scratch DIR] [--only NAME[,NAME...]] [--no-docs] [--keep] [--reuse-build]
#                         [--no-startup-variants] [--no-inproc]
#
# Builds diskimg with ./build.sh, the README's first command (Native AOT, out/diskimg), and measures that
# binary; also ReadyToRun and JIT builds for the start-up rows (--no-startup-variants skips them) and the
# in-process, JIT-compiled ImageConverter.Convert against qemu-img convert (--no-inproc skips it). Generates a corpus under a scratch directory (never in the
# repository), then runs every scenario alternately qemu-img / diskimg: one warm-up each, then N timed
# runs each (default 5), with `sync` before every run. The page cache is left warm (it cannot be
# dropped without privileges most machines do not grant, and a warm cache measures the code rather
# than the disk). Records best and median wall time, peak RSS (/usr/bin/time %M) and output size.
# A scenario diskimg cannot run yet is reported as "n/a", never estimated.
#
# Not part of the test suite: it takes 15-30 minutes and needs ~8 GiB of scratch space.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
invocation="bench/compare-qemu.sh${*:+ $*}"
runs=5
scratch=${TMPDIR:-/tmp}/diskimg-bench
only=""
write_docs=1
keep=0
reuse_build=0
startup_variants=1
inproc=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --scratch) scratch=$2; shift 2 ;;
    --only) only=",$2,"; shift 2 ;;
    --no-docs) write_docs=0; shift ;;
    --keep) keep=1; shift ;;
    --reuse-build) reuse_build=1; shift ;;
    --no-startup-variants) startup_variants=0; shift ;;
    --no-inproc) inproc=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
die() { echo "compare-qemu: $*" >&2; exit 1; }

# --- tools -----------------------------------------------------------------------------------------
need=()
command -v qemu-img >/dev/null || need+=(qemu-utils)
[ -x /usr/bin/time ] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
command -v qemu-nbd >/dev/null || need+=(qemu-utils)
command -v nbdcopy >/dev/null || need+=(libnbd-bin)
command -v clang >/dev/null || ls /usr/bin/clang-* >/dev/null 2>&1 || need+=(clang)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >&2 \
    || die "could not install ${need[*]}"
fi

mkdir -p "$scratch"
bin="$scratch/bin"

# The diskimg measured is the one the README's first command leaves: ./build.sh, Native AOT, out/diskimg.
D="$repo/out/diskimg"
if [ "$reuse_build" -eq 1 ] && [ -x "$D" ]; then
  log "reusing $D"
else
  log "building out/diskimg with ./build.sh (Native AOT), as the README's first command does"
  "$repo/build.sh" >"$scratch/publish-aot.log" 2>&1 || { cat "$scratch/publish-aot.log"; die "./build.sh failed"; }
fi
if [ "$startup_variants" -eq 1 ]; then
  if [ "$reuse_build" -eq 1 ] && [ -x "$bin/r2r/diskimg" ] && [ -x "$bin/jit/diskimg" ]; then
    log "reusing the ReadyToRun and JIT builds in $bin"
  else
    log "publishing diskimg ReadyToRun and JIT (framework-dependent) builds for the start-up comparison"
    dotnet publish "$repo/src/DiskImage.Cli" -c Release -r linux-x64 --self-contained false -p:PublishAot=false -p:PublishReadyToRun=true \
      -o "$bin/r2r" -nologo -v quiet >"$scratch/publish-r2r.log" 2>&1 || { cat "$scratch/publish-r2r.log"; die "R2R publish failed"; }
    dotnet publish "$repo/src/DiskImage.Cli" -c Release -r linux-x64 --self-contained false -p:PublishAot=false \
      -o "$bin/jit" -nologo -v quiet >"$scratch/publish-jit.log" 2>&1 || { cat "$scratch/publish-jit.log"; die "JIT publish failed"; }
  fi
fi
if [ "$inproc" -eq 1 ]; then
  log "building the in-process benchmark (bench/DiskImage.Benchmarks, JIT)"
  dotnet build "$repo/bench/DiskImage.Benchmarks" -c Release -nologo -v quiet >"$scratch/build-bench.log" 2>&1 \
    || { cat "$scratch/build-bench.log"; die "benchmark build failed"; }
fi

Q=qemu-img
aot_warnings=$(grep -c "warning" "$scratch/publish-aot.log" 2>/dev/null || true)

# --- corpus ----------------------------------------------------------------------------------------
c="$scratch/corpus"
mkdir -p "$c"
if [ ! -s "$c/corpus.raw" ]; then
  log "generating the 1 GiB corpus (random | repeated 20 KiB block | log text | hole)"
  python3 "$repo/bench/make-corpus.py" "$c/corpus.raw" 1024 || die "corpus generation failed"
fi
for q in 0 1 2 3; do
  [ -s "$c/quarter$q.raw" ] || dd if="$c/corpus.raw" of="$c/quarter$q.raw" bs=1M skip=$((q * 256)) count=256 conv=sparse status=none
done
make_image() { # path command...: runs the command once when the image is missing
  local path=$1; shift
  [ -s "$path" ] || { log "making $(basename "$path")"; "$@" >/dev/null || die "could not make $path"; }
}
make_image "$c/corpus.qcow2" $Q convert -f raw -O qcow2 "$c/corpus.raw" "$c/corpus.qcow2"
make_image "$c/corpus-zlib.qcow2" $Q convert -f raw -O qcow2 -c "$c/corpus.raw" "$c/corpus-zlib.qcow2"
# A 3-deep chain: base = the corpus; mid and top each overwrite a different 128 MiB with new data.
make_image "$c/corpus-stream.vmdk" $Q convert -f raw -O vmdk -o subformat=streamOptimized "$c/corpus.raw" "$c/corpus-stream.vmdk"
make_image "$c/chain-base.qcow2" $Q convert -f raw -O qcow2 "$c/corpus.raw" "$c/chain-base.qcow2"
make_image "$c/chain-mid.qcow2" bash -c "$Q create -f qcow2 -b chain-base.qcow2 -F qcow2 '$c/chain-mid.qcow2' && qemu-io -f qcow2 -c 'write -P 0x11 64M 128M' '$c/chain-mid.qcow2'" 
make_image "$c/chain-top.qcow2" bash -c "$Q create -f qcow2 -b chain-mid.qcow2 -F qcow2 '$c/chain-top.qcow2' && qemu-io -f qcow2 -c 'write -P 0x22 640M 128M' -c 'write -z 900M 16M' '$c/chain-top.qcow2'"
# The corpus as a dynamic VHDX (qemu-img's defaults: 8 MiB blocks), the Hyper-V migration case.
make_image "$c/corpus.vhdx" $Q convert -f raw -O vhdx "$c/corpus.raw" "$c/corpus.vhdx"
make_image "$c/empty-1t.raw" truncate -s 1T "$c/empty-1t.raw"
make_image "$c/small.qcow2" $Q create -f qcow2 "$c/small.qcow2" 1G
make_image "$c/rw.raw" cp --sparse=always "$c/corpus.raw" "$c/rw.raw"
make_image "$c/rw.qcow2" cp "$c/corpus.qcow2" "$c/rw.qcow2"
(cd "$c" && $Q info --backing-chain chain-top.qcow2 >/dev/null) || die "backing chain unreadable"

# --- measuring ---------------------------------------------------------------------------------------
out="$scratch/out"
mkdir -p "$out"
results="$scratch/results.tsv"
: >"$results"
stat_file="$scratch/time.txt"
err_file="$scratch/stderr.txt"

# timed_run CMD: runs the shell command once after a sync; prints "<microseconds> <peak RSS KiB> <exit code>".
timed_run() {
  sync
  local t0 t1 rc
  t0=$(date +%s%N)
  /usr/bin/time -f %M -o "$stat_file" bash -c "$1" >/dev/null 2>"$err_file"
  rc=$?
  t1=$(date +%s%N)
  echo "$(((t1 - t0) / 1000)) $(tail -n 1 "$stat_file" | tr -dc 0-9) $rc"
}

# summary "us us us ...": best and median in ms.
summary() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -n | awk '{v[NR]=$1} END {printf "%.1f %.1f", v[1]/1000, (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)/1000}'; }

size_of() { [ -e "$1" ] && stat -c %s "$1" || echo "-"; }
alloc_of() { [ -e "$1" ] && du -B1 "$1" | cut -f1 || echo "-"; }

# scenario NAME "DESCRIPTION" "QEMU COMMAND" "DISKIMG COMMAND" [OUTPUT] [REFERENCE FOR compare]
# Commands may use $OUT (the output path; both tools' outputs are removed before each run and after it).
scenario() {
  local name=$1 description=$2 qcmd=$3 dcmd=$4 output=${5:-} reference=${6:-}
  if [ -n "$only" ] && [[ "$only" != *",$name,"* ]]; then return; fi
  log "scenario $name: $description"
  local qtimes="" dtimes="" qrss=0 drss=0 dstatus="ok" qsize="-" dsize="-" qalloc="-" dalloc="-" same="-"
  local i tool cmd line us rss rc
  local order
  for ((i = 0; i <= runs; i++)); do
    # The order alternates, and every output is measured and removed right after its run: on this VM a write
    # next to another freshly written 1 GiB file costs several times the kernel time, so whichever tool ran
    # second beside the other's fresh output was penalised (qcow2 -> raw swung from 0.48 to 1.84 that way).
    if ((i % 2)); then order="diskimg qemu"; else order="qemu diskimg"; fi
    for tool in $order; do
      [ "$tool" = diskimg ] && [ "$dstatus" != ok ] && continue
      if [ "$tool" = qemu ]; then cmd=$qcmd; else cmd=$dcmd; fi
      [ -n "$output" ] && rm -f "$out/qemu-$output" "$out/diskimg-$output"
      line=$(OUT="$out/$tool-$output" timed_run "OUT='$out/$tool-$output'; $cmd")
      read -r us rss rc <<<"$line"
      if [ "$rc" -ne 0 ]; then
        if [ "$tool" = qemu ]; then cat "$err_file" >&2; die "qemu-img failed in $name"; fi
        if grep -qiE "unrecognized command|required command was not provided|unknown driver|not supported|not implemented" "$err_file"; then
          dstatus="n/a (not implemented yet)"
        else
          dstatus="failed: $(head -n 1 "$err_file" | cut -c1-100)"
        fi
        log "  diskimg: $dstatus"
        continue
      fi
      if [ -n "$output" ] && [ "$i" -eq "$runs" ]; then
        if [ "$tool" = qemu ]; then
          qsize=$(size_of "$out/qemu-$output"); qalloc=$(alloc_of "$out/qemu-$output")
        else
          dsize=$(size_of "$out/diskimg-$output"); dalloc=$(alloc_of "$out/diskimg-$output")
          if [ -n "$reference" ]; then
            if (cd "$c" && $Q compare -q "$reference" "$out/diskimg-$output" >/dev/null 2>&1); then same=identical; else same=DIFFERENT; fi
          fi
        fi
      fi
      [ -n "$output" ] && rm -f "$out/$tool-$output"
      [ "$i" -eq 0 ] && continue # warm-up
      if [ "$tool" = qemu ]; then
        qtimes+=" $us"; [ "$rss" -gt "$qrss" ] && qrss=$rss
      else
        dtimes+=" $us"; [ "$rss" -gt "$drss" ] && drss=$rss
      fi
    done
  done
  read -r qbest qmedian <<<"$(summary "$qtimes")"
  local dbest="-" dmedian="-" ratio="-"
  if [ "$dstatus" = ok ]; then
    read -r dbest dmedian <<<"$(summary "$dtimes")"
    ratio=$(awk -v d="$dbest" -v q="$qbest" 'BEGIN {printf "%.2f", (q > 0 ? d / q : 0)}')
  else
    drss="-"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$description" "$qbest" "$qmedian" "$dbest" "$dmedian" \
    "$ratio" "$qrss" "$drss" "$qalloc" "$dalloc" "$same" "$dstatus" "$qsize/$dsize" >>"$results"
  log "  qemu-img best ${qbest} ms, diskimg best ${dbest} ms, ratio ${ratio} ($dstatus)"
}

cd "$c" || die "no corpus dir"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
scenario raw-to-qcow2 "raw → qcow2 (1 GiB corpus)" \
  "$Q convert -f raw -O qcow2 corpus.raw \$OUT" "$D convert -f raw -O qcow2 corpus.raw \$OUT" o.qcow2 corpus.raw
scenario qcow2-to-raw "qcow2 → raw" \
  "$Q convert -f qcow2 -O raw corpus.qcow2 \$OUT" "$D convert -f qcow2 -O raw corpus.qcow2 \$OUT" o.raw corpus.raw
scenario zlib-qcow2-to-raw "zlib-compressed qcow2 → raw" \
  "$Q convert -f qcow2 -O raw corpus-zlib.qcow2 \$OUT" "$D convert -f qcow2 -O raw corpus-zlib.qcow2 \$OUT" o.raw corpus.raw
scenario stream-vmdk-to-qcow2 "streamOptimized VMDK → qcow2" \
  "$Q convert -f vmdk -O qcow2 corpus-stream.vmdk \$OUT" "$D convert -f vmdk -O qcow2 corpus-stream.vmdk \$OUT" o.qcow2 corpus.raw
scenario raw-to-qcow2-zlib "raw → qcow2 -c (zlib)" \
  "$Q convert -f raw -O qcow2 -c corpus.raw \$OUT" "$D convert -f raw -O qcow2 -c corpus.raw \$OUT" o.qcow2 corpus.raw
scenario raw-to-qcow2-zstd "raw → qcow2 -c -o compression_type=zstd" \
  "$Q convert -f raw -O qcow2 -c -o compression_type=zstd corpus.raw \$OUT" \
  "$D convert -f raw -O qcow2 -c -o compression_type=zstd corpus.raw \$OUT" o.qcow2 corpus.raw
scenario chain-to-qcow2 "3-deep backing chain flattened → qcow2" \
  "$Q convert -f qcow2 -O qcow2 chain-top.qcow2 \$OUT" "$D convert -f qcow2 -O qcow2 chain-top.qcow2 \$OUT" o.qcow2 chain-top.qcow2
scenario vhdx-to-qcow2 "dynamic VHDX → qcow2 (1 GiB corpus)" \
  "$Q convert -f vhdx -O qcow2 corpus.vhdx \$OUT" "$D convert -f vhdx -O qcow2 corpus.vhdx \$OUT" o.qcow2 corpus.vhdx
scenario empty-1t-to-qcow2 "empty 1 TiB raw → qcow2" \
  "$Q convert -f raw -O qcow2 empty-1t.raw \$OUT" "$D convert -f raw -O qcow2 empty-1t.raw \$OUT" o.qcow2 empty-1t.raw
# qemu-img bench is strided, not random: a stride of 1 MiB + 4 KiB scatters 4 KiB requests over the
# whole image (wrapping modulo size - 4 KiB, so requests stay 4 KiB aligned).
bench_args="-c 50000 -d 16 -s 4k -S 1052672"
scenario bench-read-qcow2 "4 KiB strided reads, qcow2 (50k requests, depth 16)" \
  "$Q bench -f qcow2 $bench_args rw.qcow2" "$D bench -f qcow2 $bench_args rw.qcow2"
scenario bench-write-qcow2 "4 KiB strided writes, qcow2" \
  "$Q bench -w -f qcow2 $bench_args rw.qcow2" "$D bench -w -f qcow2 $bench_args rw.qcow2"
scenario bench-read-raw "4 KiB strided reads, raw" \
  "$Q bench -f raw $bench_args rw.raw" "$D bench -f raw $bench_args rw.raw"
scenario bench-write-raw "4 KiB strided writes, raw" \
  "$Q bench -w -f raw $bench_args rw.raw" "$D bench -w -f raw $bench_args rw.raw"
# NBD: the same client against qemu-nbd and against diskimg nbd, each serving corpus.qcow2 read-only on a
# Unix socket. The timed command starts the server, waits for its socket, runs the client and stops the
# server, so start-up is included for both; peak RSS is the largest process (the server, for nbdcopy).
nbd_job() { # SERVER-COMMAND CLIENT-COMMAND (the client names the export as $U)
  echo "S=\$(mktemp -u /tmp/nbd-bench.XXXXXX.sock); U=\"nbd+unix:///?socket=\$S\"; $1 -k \$S corpus.qcow2 & P=\$!; \
for i in \$(seq 400); do [ -S \$S ] && break; sleep 0.025; done; $2; rc=\$?; kill \$P; wait \$P; rm -f \$S; exit \$rc"
}
QN="qemu-nbd -t -r -f qcow2"
DN="$D nbd -t -r -f qcow2"
scenario nbdcopy-export "nbdcopy of the 1 GiB corpus qcow2 from the export (qemu-nbd / diskimg nbd)" \
  "$(nbd_job "$QN" "nbdcopy \$U \$OUT")" "$(nbd_job "$DN" "nbdcopy \$U \$OUT")" o.raw corpus.raw
scenario nbdcopy-export-8 "nbdcopy --connections=8 from the export (-e 8)" \
  "$(nbd_job "$QN -e 8" "nbdcopy --connections=8 \$U \$OUT")" "$(nbd_job "$DN -e 8" "nbdcopy --connections=8 \$U \$OUT")" o.raw corpus.raw
scenario bench-read-nbd "qemu-img bench 4 KiB strided reads over the export" \
  "$(nbd_job "$QN" "$Q bench -f raw $bench_args \$U")" "$(nbd_job "$DN" "$Q bench -f raw $bench_args \$U")"
info_loop() { echo "for i in \$(seq 50); do $1 info small.qcow2 >/dev/null || exit 1; done"; }
scenario info-x50 "info on a small qcow2, 50 runs (Native AOT)" "$(info_loop "$Q")" "$(info_loop "$D")"
if [ "$startup_variants" -eq 1 ]; then
  scenario info-x50-r2r "info ×50, ReadyToRun build (framework-dependent)" "$(info_loop "$Q")" "$(info_loop "$bin/r2r/diskimg")"
  scenario info-x50-jit "info ×50, JIT build (framework-dependent)" "$(info_loop "$Q")" "$(info_loop "$bin/jit/diskimg")"
fi

# --- in-process (JIT) ----------------------------------------------------------------------------------
# What a library user gets: ImageConverter.Convert in one long-running JIT process, after a warm-up call,
# alternating with qemu-img convert processes (the benchmark program times both).
inproc_table="$scratch/inproc.md"
if [ "$inproc" -eq 1 ]; then
  inproc_jobs=raw-to-qcow2,qcow2-to-raw,zlib-qcow2-to-raw,chain-to-qcow2
  [ -n "$only" ] && inproc_jobs=$(tr ',' '\n' <<<"${only:1:-1}" | grep -xE "raw-to-qcow2|qcow2-to-raw|zlib-qcow2-to-raw|chain-to-qcow2|raw-to-qcow2-zstd" | paste -sd, -)
  if [ -n "$inproc_jobs" ]; then
    log "in-process ImageConverter.Convert (JIT) against qemu-img convert: $inproc_jobs"
    inproc_load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    dotnet "$repo/bench/DiskImage.Benchmarks/bin/Release/net10.0/DiskImage.Benchmarks.dll" inproc "$c" "$runs" "$inproc_jobs" >"$scratch/inproc.tsv" \
      || die "in-process benchmark failed"
    {
      echo "Measured $(date -u +%Y-%m-%d) at $(git -C "$repo" rev-parse --short HEAD); load average at start: $inproc_load_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)."
      echo "Command: \`$invocation\` (1 warm-up call + $runs timed calls, alternating with qemu-img, which goes first alternating too)."
      echo
      echo "| job | qemu-img convert best / median (ms) | ImageConverter.Convert in-process best / median (ms) | ratio (best) | CPU, user + sys, qemu-img / ours (ms, least) | CPU ratio |"
      echo "|---|---|---|---|---|---|"
      while IFS=$'\t' read -r name qb qm ob om ratio qc oc cratio; do echo "| $name | $qb / $qm | $ob / $om | **$ratio** | $qc / $oc | $cratio |"; done <"$scratch/inproc.tsv"
    } >"$inproc_table"
    cat "$inproc_table"
  fi
fi

# --- report ----------------------------------------------------------------------------------------
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
cores=$(nproc)
ram=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
cpu=$(grep -m 1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
qver=$($Q --version | head -n 1)
dver=$(dotnet --version)
fmt_rss() { [ "$1" = "-" ] && echo "-" || awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }
fmt_mib() { [ "$1" = "-" ] && echo "-" || awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
table="$scratch/table.md"
{
  echo "Measured $(date -u +%Y-%m-%d) at $(git -C "$repo" rev-parse --short HEAD) on $cores cores, $ram RAM, $cpu; $qver; .NET SDK $dver;"
  echo "diskimg is \`out/diskimg\` as \`./build.sh\` (the README's first command) left it: Native AOT ($aot_warnings build warnings), unless the row says otherwise."
  echo "Load average (1/5/15 min) at start: $load_start; at end: $load_end (the machine is shared; high load inflates both tools' times)."
  echo "Command: \`$invocation\` (1 warm-up + $runs runs per tool, alternating, \`sync\` between runs, warm page cache)."
  echo
  echo "| scenario | qemu-img best / median (ms) | diskimg best / median (ms) | ratio (best) | peak RSS qemu-img / diskimg (MiB) | output allocated qemu-img / diskimg (MiB) | output check |"
  echo "|---|---|---|---|---|---|---|"
  while IFS=$'\t' read -r name description qbest qmedian dbest dmedian ratio qrss drss qalloc dalloc same dstatus sizes; do
    if [ "$dstatus" = ok ]; then
      dcell="$dbest / $dmedian"; rcell="**$ratio**"
    else
      dcell="$dstatus"; rcell="n/a"
    fi
    echo "| $description | $qbest / $qmedian | $dcell | $rcell | $(fmt_rss "$qrss") / $(fmt_rss "$drss") | $(fmt_mib "$qalloc") / $(fmt_mib "$dalloc") | $same |"
  done <"$results"
} >"$table"
cat "$table"

if [ "$write_docs" -eq 1 ]; then
  docs="$repo/docs/BENCHMARKS.md"
  if grep -q '<!-- results:begin -->' "$docs" 2>/dev/null; then
    python3 - "$docs" "$table" <<'PY'
import sys
docs, table = sys.argv[1], sys.argv[2]
text = open(docs).read()
begin, end = "<!-- results:begin -->", "<!-- results:end -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(docs, "w").write(head + begin + "\n" + open(table).read() + end + tail)
PY
    if [ -s "$inproc_table" ] && grep -q '<!-- inproc:begin -->' "$docs"; then
      python3 - "$docs" "$inproc_table" <<'PY'
import sys
docs, table = sys.argv[1], sys.argv[2]
text = open(docs).read()
begin, end = "<!-- inproc:begin -->", "<!-- inproc:end -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(docs, "w").write(head + begin + "\n" + open(table).read() + end + tail)
PY
    fi
    log "table written into docs/BENCHMARKS.md"
  else
    log "docs/BENCHMARKS.md has no results markers; table left in $table"
  fi
fi
[ "$keep" -eq 1 ] || rm -rf "$out"
