#!/usr/bin/env bash
# Installs what Native AOT needs to cross-compile diskimg for linux-arm64 on a linux-x64 Debian or Ubuntu
# host: the aarch64 GNU toolchain (linker, objcopy, C runtime) and zlib for arm64. clang itself is the host's
# (./build.sh installs it). Does nothing when everything is there. Needs root or sudo.
set -euo pipefail
have() { command -v aarch64-linux-gnu-gcc >/dev/null && command -v aarch64-linux-gnu-objcopy >/dev/null \
  && [ -e /usr/lib/aarch64-linux-gnu/libz.a ]; }
have && exit 0
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
echo "Installing the linux-arm64 cross toolchain (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, zlib1g-dev:arm64) ..." >&2
# zlib1g-dev:arm64 comes from the arm64 half of the archive, so dpkg must know the architecture.
dpkg --print-foreign-architectures | grep -qx arm64 || "${sudo_cmd[@]}" dpkg --add-architecture arm64
"${sudo_cmd[@]}" apt-get update -qq >&2
"${sudo_cmd[@]}" apt-get install -y -qq gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross zlib1g-dev:arm64 >&2
have || { echo "install-cross-arm64: the toolchain is still incomplete" >&2; exit 1; }
