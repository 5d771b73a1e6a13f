using System.Security.Cryptography;
using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Conversion;

/// <summary><c>diskimg convert -O raw</c> must give the very bytes <c>qemu-img convert -O raw</c> gives.</summary>
public class ConvertToRawInteropTests
{
    [Theory]
    [MemberData(nameof(ConvertSources.Names), MemberType = typeof(ConvertSources))]
    public void Convert_to_raw_is_byte_identical_to_qemu_img(string variant)
    {
        using var dir = new TempDirectory();
        var (source, format) = ConvertSources.Make(dir, variant);
        var ours = dir.File("ours.raw");
        var theirs = dir.File("theirs.raw");
        ExternalTool.QemuImg("convert", "-f", format, "-O", "raw", source, theirs);

        Diskimg.Ok("convert", "-f", format, "-O", "raw", source, ours);

        Assert.Equal(Hash(theirs), Hash(ours));
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
    }

    [Theory]
    [InlineData("-W")]
    [InlineData("-m1")]
    [InlineData("-S0")]
    [InlineData("-S64k")]
    public void Convert_options_do_not_change_the_content(string option)
    {
        using var dir = new TempDirectory();
        var (source, format) = ConvertSources.Make(dir, "chain");
        var ours = dir.File("ours.raw");
        var theirs = dir.File("theirs.raw");
        ExternalTool.QemuImg("convert", "-f", format, "-O", "raw", source, theirs);

        string[] optionArguments = option.Length > 2 ? [option[..2], option[2..]] : [option];
        Diskimg.Ok(["convert", .. optionArguments, "-f", format, "-O", "raw", source, ours]);

        Assert.Equal(Hash(theirs), Hash(ours));
    }

    /// <summary>
    /// A new raw target is written by the worker threads in whatever order their chunks finish. Its bytes and its
    /// allocation must still be qemu-img's: zero 4 KiB blocks inside data (qemu-img's default <c>-S 4k</c>) and whole
    /// zero chunks stay holes, from plain and from compressed clusters alike.
    /// </summary>
    [Theory]
    [InlineData("plain")]
    [InlineData("zlib")]
    public void New_raw_target_has_qemu_img_content_and_allocation(string clusters)
    {
        using var dir = new TempDirectory();
        var raw = dir.File("data.raw");
        var data = new byte[24 << 20];
        var random = new Random(7);
        for (var i = 0; i < data.Length; i++)
        {
            // Sixteen letters at random: deflate halves the clusters, so with -c they are stored compressed.
            data[i] = (byte)('a' + random.Next(16));
        }

        for (var block = 1; block < data.Length / 4096; block += 5)
        {
            // Every fifth 4 KiB block zero, and one whole 2 MiB chunk zero. The first block holds data: qemu-img
            // allocates a new raw file's first block whatever it holds, which is not what this test is about.
            Array.Clear(data, block * 4096, 4096);
        }

        Array.Clear(data, 8 << 20, 2 << 20);
        File.WriteAllBytes(raw, data);
        var source = dir.File("source.qcow2");
        ExternalTool.QemuImg(clusters == "zlib"
            ? ["convert", "-c", "-f", "raw", "-O", "qcow2", raw, source]
            : ["convert", "-f", "raw", "-O", "qcow2", raw, source]);
        var ours = dir.File("ours.raw");
        var theirs = dir.File("theirs.raw");
        ExternalTool.QemuImg("convert", "-f", "qcow2", "-O", "raw", source, theirs);

        Diskimg.Ok("convert", "-f", "qcow2", "-O", "raw", source, ours);

        Assert.Equal(Hash(theirs), Hash(ours));
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        Assert.Equal(ActualSize(theirs), ActualSize(ours));
        Assert.True(ActualSize(ours) < data.Length * 9L / 10, $"zero blocks were allocated: {ActualSize(ours)}");
    }

    [Fact]
    public void Minus_S_zero_fully_allocates_and_default_stays_sparse()
    {
        using var dir = new TempDirectory();
        var (source, _) = ConvertSources.Make(dir, "raw-holes");
        var full = dir.File("full.raw");
        var sparse = dir.File("sparse.raw");

        Diskimg.Ok("convert", "-S", "0", "-f", "raw", "-O", "raw", source, full);
        Diskimg.Ok("convert", "-f", "raw", "-O", "raw", source, sparse);

        Assert.True(ActualSize(full) >= ConvertSources.Size, $"-S 0 left holes: {ActualSize(full)}");
        Assert.True(ActualSize(sparse) < ConvertSources.Size / 2, $"default convert allocated {ActualSize(sparse)}");
        Assert.Equal(Hash(source), Hash(full));
        Assert.Equal(Hash(source), Hash(sparse));
    }

    [Fact]
    public void Minus_n_zeroes_what_the_existing_target_held()
    {
        using var dir = new TempDirectory();
        var (source, format) = ConvertSources.Make(dir, "chain");
        var target = dir.File("existing.raw");
        File.WriteAllBytes(target, RandomNumberGenerator.GetBytes((int)ConvertSources.Size));
        var theirs = dir.File("theirs.raw");
        ExternalTool.QemuImg("convert", "-f", format, "-O", "raw", source, theirs);

        Diskimg.Ok("convert", "-n", "-f", format, "-O", "raw", source, target);

        Assert.Equal(Hash(theirs), Hash(target));
    }

    [Fact]
    public void Concatenating_two_sources_matches_qemu_img()
    {
        using var dir = new TempDirectory();
        var (first, _) = ConvertSources.Make(dir, "raw-holes");
        var second = dir.File("second.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", second, "3M");
        ConvertSources.Io(second, "qcow2", "write -P 0xab 0 100k", "write -P 0xcd 2098152 5000");
        var ours = dir.File("ours.raw");
        var theirs = dir.File("theirs.raw");
        ExternalTool.QemuImg("convert", "-O", "raw", first, second, theirs);

        Diskimg.Ok("convert", "-O", "raw", first, second, ours);

        Assert.Equal(Hash(theirs), Hash(ours));
    }

    [Fact]
    public void Empty_terabyte_raw_converts_without_reading_zeroes()
    {
        using var dir = new TempDirectory();
        var source = dir.File("empty.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", source, "1T");
        var target = dir.File("copy.raw");
        var watch = System.Diagnostics.Stopwatch.StartNew();

        Diskimg.Ok("convert", "-f", "raw", "-O", "raw", source, target);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"took {watch.Elapsed}");
        Assert.Equal(1L << 40, new FileInfo(target).Length);
        Assert.True(ActualSize(target) < 1 << 20);
    }

    internal static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    internal static long ActualSize(string path)
    {
        using var json = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", "-f", "raw", path));
        return json.RootElement.GetProperty("actual-size").GetInt64();
    }
}
