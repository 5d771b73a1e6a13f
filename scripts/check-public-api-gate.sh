#!/usr/bin/env bash
# Proves the public-API gate: a copy of the committed tree with one undeclared public type added must fail to
# build with RS0016 naming that type, and the same copy without it must build. Runs in a temporary directory,
# so the working tree and its build outputs are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive HEAD | tar -x -C "$work"
project="$work/src/DiskImage/DiskImage.csproj"

dotnet build "$project" -c Release -nologo -v quiet > "$work/clean.log" 2>&1 || { cat "$work/clean.log" >&2; echo "public-api gate: the committed tree does not build" >&2; exit 1; }

cat > "$work/src/DiskImage/UndeclaredProbe.cs" <<'CS'
namespace DiskImage;

/// <summary>A public type no PublicAPI file declares.</summary>
public static class UndeclaredProbe
{
    /// <summary>A member.</summary>
    public static int Value => 1;
}
CS
if dotnet build "$project" -c Release -nologo -v quiet > "$work/probe.log" 2>&1; then
  echo "public-api gate: a build with an undeclared public type succeeded" >&2
  exit 1
fi
grep -q "error RS0016.*UndeclaredProbe" "$work/probe.log" || { cat "$work/probe.log" >&2; echo "public-api gate: the build failed, but not with RS0016 for the probe" >&2; exit 1; }
echo "public-api gate: an undeclared public type fails the build with RS0016"
