using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Conversion;

/// <summary>Every qcow2 <c>diskimg convert</c> writes passes <c>qemu-img check</c> and compares identical to its source.</summary>
public class ConvertToQcow2InteropTests
{
    [Theory]
    [MemberData(nameof(ConvertSources.Names), MemberType = typeof(ConvertSources))]
    public void Convert_to_qcow2_is_clean_and_identical(string variant)
    {
        using var dir = new TempDirectory();
        var (source, format) = ConvertSources.Make(dir, variant);
        var target = dir.File("out.qcow2");

        Diskimg.Ok("convert", "-f", format, "-O", "qcow2", source, target);

        AssertCleanAndIdentical(source, format, target);
    }

    [Theory]
    [InlineData("writeback")]
    [InlineData("none")]
    [InlineData("unsafe")]
    public void Every_target_cache_mode_gives_a_clean_identical_qcow2(string cache)
    {
        using var dir = new TempDirectory();
        var (source, format) = ConvertSources.Make(dir, "qcow2-64k");
        var target = dir.File("out.qcow2");

        Diskimg.Ok("convert", "-t", cache, "-f", format, "-O", "qcow2", source, target);

        AssertCleanAndIdentical(source, format, target);
    }

    [Theory]
    [InlineData("raw-holes", "zlib")]
    [InlineData("raw-holes", "zstd")]
    [InlineData("chain", "zlib")]
    [InlineData("chain", "zstd")]
    [InlineData("qcow2-zstd", "zlib")]
    [InlineData("overlay-larger", "zstd")]
    public void Compressed_convert_is_clean_identical_and_compressed(string variant, string compression)
    {
        using var dir = new TempDirectory();
        var (source, format) = ConvertSources.Make(dir, variant);
        var target = dir.File("out.qcow2");

        Diskimg.Ok("convert", "-c", "-f", format, "-O", "qcow2", "-o", "compression_type=" + compression, source, target);

        AssertCleanAndIdentical(source, format, target);
        using var check = JsonDocument.Parse(ExternalTool.Run("qemu-img", "check", "--output=json", target).StdOut);
        Assert.True(check.RootElement.GetProperty("compressed-clusters").GetInt64() > 0);
        using var info = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", target));
        Assert.Equal(compression, info.RootElement.GetProperty("format-specific").GetProperty("data").GetProperty("compression-type").GetString());
    }

    [Theory]
    [InlineData("cluster_size=4k")]
    [InlineData("cluster_size=2M")]
    [InlineData("compat=0.10")]
    [InlineData("extended_l2=on,cluster_size=64k")]
    [InlineData("preallocation=metadata")]
    [InlineData("lazy_refcounts=on,refcount_bits=1")]
    public void Target_options_are_honoured(string options)
    {
        using var dir = new TempDirectory();
        var (source, format) = ConvertSources.Make(dir, "chain");
        var target = dir.File("out.qcow2");

        Diskimg.Ok("convert", "-f", format, "-O", "qcow2", "-o", options, source, target);

        AssertCleanAndIdentical(source, format, target);
    }

    [Fact]
    public void Sparse_256_MiB_source_gives_a_small_qcow2()
    {
        using var dir = new TempDirectory();
        var source = dir.File("sparse.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", source, "256M");
        ConvertSources.Io(source, "raw", "write -P 0x5a 0 64k", "write -P 0x00 100M 1M", "write -P 0xa5 200M 64k", "write -P 0x77 268431360 4k");
        var ours = dir.File("ours.qcow2");
        var theirs = dir.File("theirs.qcow2");
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow2", source, theirs);

        Diskimg.Ok("convert", "-f", "raw", "-O", "qcow2", source, ours);

        AssertCleanAndIdentical(source, "raw", ours);
        Assert.True(new FileInfo(ours).Length < 1 << 20, $"{new FileInfo(ours).Length} bytes for three small data runs");
        Assert.True(new FileInfo(ours).Length <= new FileInfo(theirs).Length, $"ours {new FileInfo(ours).Length}, qemu-img's {new FileInfo(theirs).Length}");
    }

    [Fact]
    public void Empty_terabyte_raw_to_qcow2_takes_well_under_two_seconds()
    {
        using var dir = new TempDirectory();
        var source = dir.File("empty.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", source, "1T");
        var target = dir.File("empty.qcow2");
        var watch = System.Diagnostics.Stopwatch.StartNew();

        Diskimg.Ok("convert", "-f", "raw", "-O", "qcow2", source, target);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", target).ExitCode);
        using var info = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", target));
        Assert.Equal(1L << 40, info.RootElement.GetProperty("virtual-size").GetInt64());
    }

    [Fact]
    public void Concatenation_into_qcow2_matches_qemu_img()
    {
        using var dir = new TempDirectory();
        var (first, _) = ConvertSources.Make(dir, "raw-holes");
        var second = dir.File("second.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", second, "3M");
        ConvertSources.Io(second, "qcow2", "write -P 0xab 0 100k", "write -P 0xcd 2098152 5000");
        var ours = dir.File("ours.qcow2");
        var theirs = dir.File("theirs.qcow2");
        ExternalTool.QemuImg("convert", "-O", "qcow2", first, second, theirs);

        Diskimg.Ok("convert", "-O", "qcow2", first, second, ours);

        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", ours, theirs).ExitCode);
    }

    [Fact]
    public void Existing_qcow2_target_with_target_is_zero()
    {
        using var dir = new TempDirectory();
        var (source, format) = ConvertSources.Make(dir, "chain");
        var target = dir.File("existing.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", target, ConvertSources.Size.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Diskimg.Ok("convert", "-n", "--target-is-zero", "-f", format, "-O", "qcow2", source, target);

        AssertCleanAndIdentical(source, format, target);
    }

    [Fact]
    public void Existing_qcow2_target_with_old_data_is_overwritten_and_zeroed()
    {
        using var dir = new TempDirectory();
        var (source, format) = ConvertSources.Make(dir, "chain");
        var target = dir.File("existing.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", target, ConvertSources.Size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ConvertSources.Io(target, "qcow2", "write -P 0xee 0 6M");

        Diskimg.Ok("convert", "-n", "-W", "-f", format, "-O", "qcow2", source, target);

        AssertCleanAndIdentical(source, format, target);
    }

    internal static void AssertCleanAndIdentical(string source, string sourceFormat, string target)
    {
        var check = ExternalTool.Run("qemu-img", "check", "--output=json", target);
        Assert.True(check.ExitCode == 0, $"qemu-img check exited {check.ExitCode}: {check.StdOut}{check.StdErr}");
        using (var json = JsonDocument.Parse(check.StdOut))
        {
            Assert.False(json.RootElement.TryGetProperty("leaks", out _), check.StdOut);
            Assert.False(json.RootElement.TryGetProperty("corruptions", out _), check.StdOut);
        }

        var compare = ExternalTool.Run("qemu-img", "compare", "-f", sourceFormat, "-F", "qcow2", source, target);
        Assert.True(compare.ExitCode == 0, $"qemu-img compare: {compare.StdOut}{compare.StdErr}");
    }
}
