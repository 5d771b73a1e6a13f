using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Verbs;

public class MeasureInteropTests
{
    private static readonly string[] s_sizes = ["0", "1", "1000000", "1.5G", "1T"];

    private static readonly string[] s_qcow2Options =
    [
        "", "cluster_size=512", "cluster_size=2M", "refcount_bits=1", "refcount_bits=64", "extended_l2=on,cluster_size=2M",
        "preallocation=full", "preallocation=metadata", "compat=0.10", "cluster_size=1k,refcount_bits=2",
        "encrypt.format=luks,encrypt.key-secret=sec0", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc",
    ];

    public static TheoryData<string> Qcow2Options() => [.. s_qcow2Options];

    [Theory]
    [MemberData(nameof(Qcow2Options))]
    public void Size_form_matches_qemu_img_for_qcow2_targets(string options)
    {
        // qemu-img calibrates PBKDF2 (about a second of CPU) for every measure of a LUKS target. What the LUKS header adds
        // does not depend on the size, and the same sizes without encryption check the rest, so those run the extremes.
        foreach (var size in options.Contains("luks", StringComparison.Ordinal) ? new[] { "0", "1T" } : s_sizes)
        {
            string[] args = ["-O", "qcow2", "--size", size, .. options.Length > 0 ? new[] { "-o", options } : []];
            AssertSameMeasurement(args);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("1000")]
    [InlineData("1T")]
    public void Size_form_matches_qemu_img_for_raw_targets(string size) => AssertSameMeasurement(["-O", "raw", "--size", size]);

    [Fact]
    public void Sizes_too_large_for_the_l1_table_are_refused_as_qemu_img_does()
    {
        var theirs = ExternalTool.Run("qemu-img", "measure", "-O", "qcow2", "-o", "cluster_size=512", "--size", "1T");
        var ours = Diskimg.Run("measure", "-O", "qcow2", "-o", "cluster_size=512", "--size", "1T");
        Assert.Equal(1, theirs.ExitCode);
        Assert.Equal(1, ours.ExitCode);
        Assert.Contains("The image size is too large (try using a larger cluster size)", theirs.StdErr, StringComparison.Ordinal);
        Assert.Equal("diskimg: The image size is too large (try using a larger cluster size)", ours.StdErr.Trim());
    }

    [Theory]
    [InlineData("-O", "qcow2")]
    [InlineData("-O", "raw")]
    [InlineData("-O", "qcow2", "-o", "cluster_size=4k")]
    [InlineData("-O", "qcow2", "-o", "cluster_size=2M,extended_l2=on")]
    [InlineData("-O", "qcow2", "-o", "refcount_bits=1")]
    [InlineData("-O", "qcow2", "-o", "backing_file=base.raw,backing_fmt=raw")]
    [InlineData("-O", "qcow2", "-o", "preallocation=falloc")]
    public void File_form_matches_qemu_img_for_raw_sources_with_data(params string[] target)
    {
        using var dir = new TempDirectory();
        var sources = new[] { dir.File("sparse.raw"), dir.File("dense.raw"), dir.File("odd.raw"), dir.File("empty.raw") };
        WriteSparse(sources[0], 10 << 20, (70000, 1), (5_000_000, 1), ((10 << 20) - 1, 1));
        WriteSparse(sources[1], 3 << 20, (100_000, 2_500_000));
        WriteSparse(sources[2], 1000, (999, 1));
        WriteSparse(sources[3], 0);
        foreach (var source in sources)
        {
            AssertSameMeasurement([.. target, "-f", "raw", source]);
        }
    }

    [Theory]
    [InlineData("-O", "qcow2")]
    [InlineData("-O", "raw")]
    [InlineData("-O", "qcow2", "-o", "cluster_size=4k,refcount_bits=64")]
    [InlineData("-O", "qcow2", "-o", "compat=0.10")]
    [InlineData("-O", "qcow2", "-o", "extended_l2=on")]
    public void File_form_matches_qemu_img_for_qcow2_sources_and_chains(params string[] target)
    {
        using var dir = new TempDirectory();
        var baseImage = dir.File("base.qcow2");
        var top = dir.File("top.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", baseImage, "10M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 1 0 100k", "-c", "write -z 1M 128k", "-c", "write -P 2 5M 1", baseImage);
        ExternalTool.QemuImg("create", "-f", "qcow2", "-b", baseImage, "-F", "qcow2", top, "12M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 3 8M 64k", "-c", "write -z 0 64k", "-c", "write -P 4 11M 1", top);
        AssertSameMeasurement([.. target, "-f", "qcow2", baseImage]);
        AssertSameMeasurement([.. target, top]);
    }

    [Theory]
    [InlineData("snap1")]
    [InlineData("1")]
    [InlineData("snapshot.name=snap1")]
    public void Snapshot_form_matches_qemu_img(string snapshot)
    {
        using var dir = new TempDirectory();
        var image = dir.File("s.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "10M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 1 0 1M", image);
        ExternalTool.QemuImg("snapshot", "-c", "snap1", image);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 2 2M 3M", image);
        AssertSameMeasurement(["-O", "qcow2", "-l", snapshot, image]);
        AssertSameMeasurement(["-O", "qcow2", "-o", "cluster_size=4k", "-l", snapshot, image]);
    }

    [Fact]
    public void Missing_operands_and_bad_options_are_refused_as_qemu_img_refuses_them()
    {
        foreach (var args in new[]
        {
            new[] { "measure" },
            ["measure", "--size", "1G", "some.img"],
            ["measure", "-O", "qcow2", "-o", "cluster_size=1000", "--size", "1G"],
            ["measure", "-O", "qcow2", "-o", "refcount_bits=3", "--size", "1G"],
            ["measure", "-O", "qcow2", "-o", "foo=1", "--size", "1G"],
            ["measure", "-O", "qcow2", "-o", "compat=0.10,refcount_bits=8", "--size", "1G"],
            ["measure", "-O", "qcow2", "-o", "extended_l2=on,cluster_size=4k", "--size", "1G"],
            ["measure", "-f", "raw", "/nonexistent/file.raw"],
            ["measure", "-O", "qcow2", "-l", "snap1", "--size", "1G"],
            ["measure", "-O", "qcow2", "-f", "raw", "--size", "1G"],
        })
        {
            var theirs = ExternalTool.Run("qemu-img", args);
            var ours = Diskimg.Run(args);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr);
        }
    }

    internal static void WriteSparse(string path, long length, params (long Offset, int Count)[] data)
    {
        using var file = File.Create(path);
        file.SetLength(length);
        var random = new Random(42);
        foreach (var (offset, count) in data)
        {
            var bytes = new byte[count];
            random.NextBytes(bytes);
            bytes[0] = 0xAA;
            file.Position = offset;
            file.Write(bytes);
        }
    }

    private static void AssertSameMeasurement(string[] args)
    {
        var qemuArgs = args.Any(a => a.Contains("encrypt.key-secret", StringComparison.Ordinal))
            ? ["measure", "--output=json", "--object", "secret,id=sec0,data=abc", .. args]
            : new[] { "measure", "--output=json" }.Concat(args).ToArray();
        var theirs = ExternalTool.Run("qemu-img", qemuArgs);
        var ours = Diskimg.Run(qemuArgs);
        var what = string.Join(' ', args);
        if (theirs.ExitCode != 0)
        {
            Assert.True(ours.ExitCode != 0, $"qemu-img refused '{what}' ({theirs.StdErr.Trim()}) but we measured {ours.StdOut}");
            return;
        }

        Assert.True(ours.ExitCode == 0, $"'{what}': {ours.StdErr}");
        using var expected = JsonDocument.Parse(theirs.StdOut);
        using var actual = JsonDocument.Parse(ours.StdOut);
        foreach (var field in new[] { "required", "fully-allocated" })
        {
            Assert.True(
                expected.RootElement.GetProperty(field).GetInt64() == actual.RootElement.GetProperty(field).GetInt64(),
                $"{field} for '{what}': qemu-img {expected.RootElement.GetProperty(field)}, ours {actual.RootElement.GetProperty(field)}");
        }

        Assert.Equal(expected.RootElement.TryGetProperty("bitmaps", out _), actual.RootElement.TryGetProperty("bitmaps", out _));
    }
}
