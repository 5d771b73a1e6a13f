using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// <c>diskimg bitmap</c> judged by qemu-img 7.2: the same operations on two copies of one image, one run by
/// qemu-img bitmap and one by diskimg bitmap, must leave bitmaps QEMU lists and reads identically (info, a clean
/// check, and the dirty granules qemu-nbd -B serves); refusals must carry qemu-img's lines and exit code.
/// </summary>
public partial class BitmapVerbInteropTests
{
    private const long Size = 24L << 20;

    /// <summary>Granularities from 512 B to 64 MiB, all in one image.</summary>
    private static readonly long[] s_granularities = [512, 4096, 65536, 1L << 20, 64L << 20];

    [Fact]
    public void Bitmaps_added_merged_cleared_and_disabled_by_diskimg_read_as_qemu_img_s()
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qcow2");
        var theirs = dir.File("theirs.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", "cluster_size=65536", theirs, Size.ToString(CultureInfo.InvariantCulture));
        File.Copy(theirs, ours);

        // Each step: bitmap arguments (run by both tools) or qemu-io writes (the same on both copies).
        var steps = new List<string[]>();
        foreach (var granularity in s_granularities)
        {
            steps.Add(["--add", "-g", granularity.ToString(CultureInfo.InvariantCulture), "g" + granularity.ToString(CultureInfo.InvariantCulture)]);
        }

        steps.Add(["--add", "plain"]);
        steps.Add(["io", "write -P 0x11 1M 100k", "write -z 9M 3k", "discard 13M 1M"]);
        steps.Add(["--disable", "g4096"]);
        steps.Add(["io", "write -P 0x22 5M 10k", "write -P 0x23 23M 1k"]);
        steps.Add(["--add", "--disable", "--merge", "g4096", "--merge", "g512", "snap"]);
        steps.Add(["--clear", "g65536"]);
        steps.Add(["--enable", "g4096"]);
        steps.Add(["io", "write -P 0x33 17M 64k", "write -P 0x34 511 2"]);
        steps.Add(["--add", "-g", "512", "--merge", "g67108864", "wide"]);
        steps.Add(["--remove", "plain"]);
        steps.Add(["--add", "plain"]);
        steps.Add(["--remove", "--add", "-g", "1M", "g512"]);
        steps.Add(["io", "write -P 0x44 2M 1k"]);

        foreach (var step in steps)
        {
            if (step[0] == "io")
            {
                var commands = step.Skip(1).SelectMany(c => new[] { "-c", c }).ToArray();
                ExternalTool.QemuIo([.. commands, theirs]);
                ExternalTool.QemuIo([.. commands, ours]);
                continue;
            }

            var name = step[^1];
            var options = step[..^1];
            ExternalTool.QemuImg(["bitmap", .. options, theirs, name]);
            Diskimg.Ok(["bitmap", .. options, ours, name]);
        }

        Assert.Equal(BitmapsOf(theirs), BitmapsOf(ours));
        Assert.Contains("No errors were found", ExternalTool.Run("qemu-img", "check", ours).StdOut, StringComparison.Ordinal);
        foreach (var bitmap in JsonDocument.Parse(BitmapsOf(ours)).RootElement.EnumerateArray())
        {
            var name = bitmap.GetProperty("name").GetString()!;
            var granularity = bitmap.GetProperty("granularity").GetInt64();
            var expected = DirtyRanges.Read(theirs, name, granularity);
            var actual = DirtyRanges.Read(ours, name, granularity);
            Assert.True(expected.SetEquals(actual), $"{name}: qemu-img {DirtyRanges.Describe(expected)}; diskimg {DirtyRanges.Describe(actual)}");
        }
    }

    /// <summary>Arguments before FILE and BITMAP, on an image with enabled <c>b1</c>, disabled <c>b2</c> and an inconsistent <c>broken</c>.</summary>
    public static TheoryData<string, string[]> Refusals => new()
    {
        { "existing name", ["--add", "b1"] },
        { "missing bitmap", ["--remove", "nob"] },
        { "missing merge source", ["--merge", "nob", "b1"] },
        { "granularity not a power of two", ["--add", "-g", "1000", "n"] },
        { "granularity 4G", ["--add", "-g", "4G", "n"] },
        { "granularity below 512", ["--add", "-g", "256", "n"] },
        { "granularity unreadable", ["--add", "-g", "abc", "n"] },
        { "granularity without add", ["--clear", "-g", "512", "b1"] },
        { "no operation", ["b1"] },
        { "-F without -b", ["--merge", "b2", "-F", "qcow2", "b1"] },
        { "-b without merge", ["--clear", "-b", "x", "b1"] },
        { "no bitmap name", ["--clear"] },
        { "empty name", ["--add", ""] },
        { "name of 1024 bytes", ["--add", new string('n', 1024)] },
        { "too many granules", ["--add", "-g", "512", "--add", "x"] },
        { "inconsistent clear", ["--clear", "broken"] },
        { "inconsistent enable", ["--enable", "broken"] },
        { "inconsistent merge source", ["--merge", "broken", "b1"] },
        { "add then fail", ["--add", "--add", "fresh"] },
        { "remove inconsistent", ["--remove", "broken"] },
        { "merge other file of another size", ["--merge", "b1", "-b", "OTHER", "b1"] },
        { "merge other file missing bitmap", ["--merge", "b9", "-b", "OTHER", "-F", "qcow2", "b1"] },
        { "merge other file as raw", ["--merge", "b1", "-b", "OTHER", "-F", "raw", "b1"] },
        { "merge from a missing file", ["--merge", "b1", "-b", "missing.qcow2", "b1"] },
        { "merge from the image itself", ["--merge", "b2", "-b", "SELF", "b1"] },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Refusals_match_qemu_img(string name, string[] arguments)
    {
        using var dir = new TempDirectory();
        var template = dir.File("template.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", template, "64M");
        ExternalTool.QemuImg("bitmap", "--add", template, "broken");
        MakeInconsistent(template);
        ExternalTool.QemuImg("bitmap", "--add", template, "b1");
        ExternalTool.QemuImg("bitmap", "--add", "-g", "4096", "--disable", template, "b2");
        var other = dir.File("other.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", other, "32M");
        ExternalTool.QemuImg("bitmap", "--add", other, "b1");

        var results = new List<(ExternalTool.Result Result, string Info)>();
        foreach (var tool in new[] { "qemu-img", "diskimg" })
        {
            var image = dir.File(tool + ".qcow2");
            File.Copy(template, image, overwrite: true);
            if (name == "too many granules")
            {
                File.Delete(image);
                ExternalTool.QemuImg("create", "-f", "qcow2", image, "1P");
            }

            // The last argument is the bitmap name, except where the case is its absence.
            var args = arguments.Select(a => a == "OTHER" ? other : a == "SELF" ? image : a).ToList();
            string[] options = name == "no bitmap name" ? [.. args] : [.. args[..^1]];
            string[] fileAndName = name == "no bitmap name" ? [image] : [image, args[^1]];
            var result = tool == "qemu-img" ? ExternalTool.Run("qemu-img", ["bitmap", .. options, .. fileAndName]) : Diskimg.Run(["bitmap", .. options, .. fileAndName]);
            result = result with { StdErr = result.StdErr.Replace(image, "IMAGE", StringComparison.Ordinal) };
            results.Add((result, ExternalTool.Run("qemu-img", "info", "--output=json", "-U", image).StdOut.Replace(image, "IMAGE", StringComparison.Ordinal)));
        }

        var (theirs, theirInfo) = results[0];
        var (ours, ourInfo) = results[1];
        Assert.True(theirs.ExitCode == ours.ExitCode, $"{name}: diskimg exited {ours.ExitCode} ('{ours.StdErr}'), qemu-img {theirs.ExitCode} ('{theirs.StdErr}')");
        Assert.Equal(ErrorLines(theirs.StdErr, "qemu-img: "), ErrorLines(ours.StdErr, "diskimg: "));
        Assert.Equal(StripSizes(theirInfo), StripSizes(ourInfo));
    }

    [Fact]
    public void An_image_qemu_io_holds_is_refused_with_qemu_img_s_lock_error()
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "16M");
        using var holder = ImageHolder.QemuIo(image);
        var theirs = ExternalTool.Run("qemu-img", "bitmap", "--add", image, "b");
        var ours = Diskimg.Run("bitmap", "--add", image, "b");
        Assert.True(holder.IsRunning);
        Assert.Equal(1, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(ErrorLines(theirs.StdErr, "qemu-img: "), ErrorLines(ours.StdErr, "diskimg: "));
    }

    [Fact]
    public void Bitmaps_are_refused_on_qcow2_version_2_and_raw_images_as_qemu_img_refuses_them()
    {
        using var dir = new TempDirectory();
        var v2 = dir.File("v2.qcow2");
        var raw = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", "compat=0.10", v2, "16M");
        ExternalTool.QemuImg("create", "-f", "raw", raw, "16M");
        foreach (var args in new[] { new[] { "--add", v2, "b" }, ["--remove", v2, "b"], ["--add", "-f", "raw", raw, "b"], ["--clear", "-f", "raw", raw, "b"] })
        {
            var theirs = ExternalTool.Run("qemu-img", ["bitmap", .. args]);
            var ours = Diskimg.Run(["bitmap", .. args]);
            Assert.Equal(1, theirs.ExitCode);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(ErrorLines(theirs.StdErr, "qemu-img: "), ErrorLines(ours.StdErr, "diskimg: "));
        }
    }

    /// <summary>A qemu-io writer killed while it holds the image leaves every bitmap it loaded in_use (inconsistent).</summary>
    internal static void MakeInconsistent(string image)
    {
        using var holder = ImageHolder.QemuIo(image);

        // The lock is taken before qemu-io's open has marked the bitmaps in use; killing it in between leaves another
        // state (the autoclear bit cleared), so wait for the in-use flags themselves.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!ExternalTool.QemuImg("info", "-U", "--output=json", image).Contains("\"in-use\"", StringComparison.Ordinal))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "qemu-io did not mark the bitmaps in use");
            Thread.Sleep(20);
        }

        Assert.True(holder.IsRunning);
    }

    internal static string BitmapsOf(string image)
    {
        var info = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", image)).RootElement;
        return info.GetProperty("format-specific").GetProperty("data").TryGetProperty("bitmaps", out var bitmaps) ? bitmaps.GetRawText() : "[]";
    }

    /// <summary>Error lines without the program's name, QEMU's random node names masked.</summary>
    internal static string[] ErrorLines(string stderr, string program) => stderr
        .Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(line => line.StartsWith(program, StringComparison.Ordinal) ? line[program.Length..] : line)
        .Select(line => NodeName().Replace(line, "#block"))
        .ToArray();

    /// <summary>Sizes on disk differ between writers (cluster placement); the rest of info must not.</summary>
    private static string StripSizes(string info) => Regex.Replace(info, "\"(actual-size|dirty-flag)\": [^,\\n]+", "");

    [GeneratedRegex("#block[0-9]+")]
    private static partial Regex NodeName();
}
