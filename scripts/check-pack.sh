#!/usr/bin/env bash
# Packs the diskimg dotnet tool and checks the package: its name, the tool settings, the entry
# assembly, and that the installed tool runs a real job (create, convert, info).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

dotnet pack src/DiskImage.Cli -c Release -o "$work/packages" -nologo -v quiet
package=$(ls "$work"/packages/DiskImage.Tool.*.nupkg)
echo "package: $(basename "$package")"
listing=$(unzip -l "$package")
grep -q 'tools/net10.0/any/DotnetToolSettings.xml' <<<"$listing"
grep -q 'tools/net10.0/any/diskimg.dll' <<<"$listing"
grep -q 'tools/net10.0/any/DiskImage.dll' <<<"$listing"
unzip -p "$package" tools/net10.0/any/DotnetToolSettings.xml | grep -q 'Command Name="diskimg"'

dotnet tool install --tool-path "$work/tool" --add-source "$work/packages" DiskImage.Tool >/dev/null
"$work/tool/diskimg" create -q -f raw "$work/demo.raw" 64M
"$work/tool/diskimg" convert -O qcow2 "$work/demo.raw" "$work/demo.qcow2"
"$work/tool/diskimg" info "$work/demo.qcow2" | grep -q 'file format: qcow2'
echo "pack check passed"
