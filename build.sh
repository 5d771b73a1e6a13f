#!/usr/bin/env bash
# Builds the diskimg that users run: one Native AOT executable, out/diskimg, that needs no .NET runtime.
# Installs what Native AOT links with (clang, zlib1g-dev) first when missing (apt; needs root or sudo).
#
#   ./build.sh [extra dotnet publish arguments]
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v clang >/dev/null || need+=(clang)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} (Native AOT links with them) ..." >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq >&2
  "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >&2
fi

case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64 | arm64) rid=linux-arm64 ;;
  *) echo "build.sh: no Native AOT target for $(uname -m); use 'dotnet build src/DiskImage.Cli -c Release -o out'" >&2; exit 1 ;;
esac

# PublishAot is set in the project, so publishing for a RID produces the native executable.
dotnet publish src/DiskImage.Cli -c Release -r "$rid" -o out -nologo -v quiet "$@"
echo "built out/diskimg (Native AOT, $rid)" >&2
