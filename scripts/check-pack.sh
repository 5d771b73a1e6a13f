#!/usr/bin/env bash
# Packs what .NET users install, with the README's commands, and checks the packages:
#   DiskImage.Tool              the pointer package: lists the RID-specific packages (linux-x64, linux-arm64, any)
#   DiskImage.Tool.linux-x64    the Native AOT diskimg executable
#   DiskImage.Tool.linux-arm64  the same for 64-bit ARM (cross-compiled on x64; checked as an aarch64 Native AOT
#                               ELF, not run: the .NET runtime does not start under qemu-user emulation)
#   DiskImage.Tool.any          the framework-dependent fallback for every other platform
#   DiskImage                   the library, with its README and XML documentation
# then installs the tool from the local folder and checks that the command it gives is the native
# executable from the linux-x64 package (not a managed apphost) and runs a real job.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "check-pack: $*" >&2; exit 1; }
packages="$work/packages"
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)

# The README's "Packaging" commands, into a scratch folder.
dotnet pack src/DiskImage.Cli -c Release -o "$packages" -nologo -v quiet
dotnet pack src/DiskImage.Cli -c Release -r linux-x64 -o "$packages" -nologo -v quiet
[ "$(uname -m)" = x86_64 ] && scripts/install-cross-arm64.sh
dotnet pack src/DiskImage.Cli -c Release -r linux-arm64 -o "$packages" -nologo -v quiet
dotnet pack src/DiskImage.Cli -c Release -r any -p:PublishAot=false -o "$packages" -nologo -v quiet
dotnet pack src/DiskImage -c Release -o "$packages" -nologo -v quiet
ls "$packages"

pointer="$packages/DiskImage.Tool.$version.nupkg"
native="$packages/DiskImage.Tool.linux-x64.$version.nupkg"
arm64="$packages/DiskImage.Tool.linux-arm64.$version.nupkg"
fallback="$packages/DiskImage.Tool.any.$version.nupkg"
library="$packages/DiskImage.$version.nupkg"
for p in "$pointer" "$native" "$arm64" "$fallback" "$library"; do [ -f "$p" ] || fail "missing $(basename "$p")"; done

settings=$(unzip -p "$pointer" tools/any/any/DotnetToolSettings.xml)
grep -q 'Command Name="diskimg"' <<<"$settings" || fail "pointer package: no diskimg command"
grep -q 'RuntimeIdentifier="linux-x64" Id="DiskImage.Tool.linux-x64"' <<<"$settings" || fail "pointer package: no linux-x64 package"
grep -q 'RuntimeIdentifier="linux-arm64" Id="DiskImage.Tool.linux-arm64"' <<<"$settings" || fail "pointer package: no linux-arm64 package"
grep -q 'RuntimeIdentifier="any" Id="DiskImage.Tool.any"' <<<"$settings" || fail "pointer package: no any fallback"
grep -q 'packageType name="DotnetTool"' <<<"$(unzip -p "$pointer" DiskImage.Tool.nuspec)" || fail "pointer package type"

grep -q 'packageType name="DotnetToolRidPackage"' <<<"$(unzip -p "$native" DiskImage.Tool.linux-x64.nuspec)" || fail "linux-x64 package type"
native_listing=$(unzip -l "$native")
grep -q 'tools/any/linux-x64/diskimg$' <<<"$native_listing" || fail "linux-x64 package: no diskimg executable"
grep -q '\.dll$' <<<"$native_listing" && fail "linux-x64 package holds managed assemblies: $native_listing"
# The arm64 package: one aarch64 ELF (e_machine 183 at offset 18) with the NativeAOT runtime's debug header.
arm64_listing=$(unzip -l "$arm64")
grep -q 'tools/any/linux-arm64/diskimg$' <<<"$arm64_listing" || fail "linux-arm64 package: no diskimg executable"
grep -q '\.dll$' <<<"$arm64_listing" && fail "linux-arm64 package holds managed assemblies: $arm64_listing"
unzip -p "$arm64" tools/any/linux-arm64/diskimg >"$work/diskimg-arm64"
head -c 4 "$work/diskimg-arm64" | grep -q $'\x7fELF' || fail "linux-arm64 package: diskimg is not an ELF executable"
[ "$(od -An -tu2 -j18 -N2 "$work/diskimg-arm64" | tr -d ' ')" = 183 ] || fail "linux-arm64 package: diskimg is not an aarch64 executable"
grep -qa DotNetRuntimeDebugHeader "$work/diskimg-arm64" || fail "linux-arm64 package: diskimg is not a Native AOT executable"
grep -q 'tools/net10.0/any/diskimg.dll$' <<<"$(unzip -l "$fallback")" || fail "any package: no diskimg.dll"

library_listing=$(unzip -l "$library")
for f in lib/net10.0/DiskImage.dll lib/net10.0/DiskImage.xml README.md; do
  grep -q " $f\$" <<<"$library_listing" || fail "library package: no $f"
done
# (Read into a variable first: grep -q would stop reading early and unzip fail on the broken pipe.)
library_docs=$(unzip -p "$library" lib/net10.0/DiskImage.xml)
grep -q '<member name="T:DiskImage.Operations.Conversion.ImageConverter">' <<<"$library_docs" \
  || fail "library package: the XML documentation lacks ImageConverter"
grep -q '<readme>README.md</readme>' <<<"$(unzip -p "$library" DiskImage.nuspec)" || fail "library package: no readme"

# Install as a user would (pinned to this version, so no other feed's package of the same id is picked).
dotnet tool install --tool-path "$work/tool" --add-source "$packages" --version "$version" DiskImage.Tool >/dev/null
command="$work/tool/diskimg"
real=$(readlink -f "$command")
echo "installed command: $command -> $real"
case "$real" in */diskimage.tool.linux-x64/*) ;; *) fail "the installed command does not come from the linux-x64 package" ;; esac
head -c 4 "$real" | grep -q $'\x7fELF' || fail "the installed command is not an ELF executable"
grep -qa DotNetRuntimeDebugHeader "$real" || fail "the installed command is not a Native AOT executable"
grep -qa hostfxr "$real" && fail "the installed command is a managed apphost"
ls "$(dirname "$real")"/*.dll >/dev/null 2>&1 && fail "managed assemblies beside the installed command"

"$command" create -q -f raw "$work/demo.raw" 64M
"$command" convert -O qcow2 "$work/demo.raw" "$work/demo.qcow2"
"$command" info "$work/demo.qcow2" | grep -q 'file format: qcow2' || fail "the installed diskimg did not run the job"
echo "pack check passed"
