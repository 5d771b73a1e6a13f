using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Migration;

namespace DiskImage.Interop.Tests.Parallels;

/// <summary>Parallels images judged by qemu-img and qemu-io: create, info, map, reads, writes, check and repair, convert, hostile headers.</summary>
public class ParallelsInteropTests
{
    private static readonly string[] Writes =
    [
        "write -P 0x22 1000 5000", "write -P 0x33 2M 70k", "write -z 3M 1M", "write -P 0x44 4100k 3k", "write -P 0x55 9M 1M",
    ];

    [Theory]
    [InlineData("10M", new string[0])]
    [InlineData("1001", new string[0])]
    [InlineData("0", new string[0])]
    [InlineData("10M", new[] { "-o", "cluster_size=1000" })]
    [InlineData("100M", new[] { "-o", "cluster_size=64k,preallocation=falloc" })]
    [InlineData("3G", new[] { "-o", "cluster_size=512" })]
    [InlineData("1T", new[] { "-o", "cluster_size=512" })] // the BAT's byte length wraps to 64 in QEMU's arithmetic
    [InlineData("1T", new[] { "-o", "cluster_size=64k" })]
    public void Create_is_byte_identical_to_qemu_img(string size, string[] options)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.prl");
        var ours = dir.File("ours.prl");
        var expected = ExternalTool.QemuImg(["create", "-f", "parallels", .. options, theirs, size]);
        Assert.Equal(expected.Replace(theirs, ours, StringComparison.Ordinal), Diskimg.Ok(["create", "-f", "parallels", .. options, ours, size]));
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        var theirInfo = ExternalTool.Run("qemu-img", "info", theirs);
        var ourInfo = Diskimg.Run("info", ours);
        Assert.Equal(theirInfo.ExitCode, ourInfo.ExitCode);
        Assert.Equal(theirInfo.StdOut.Replace(theirs, ours, StringComparison.Ordinal), ourInfo.StdOut);
    }

    [Theory]
    [InlineData("cluster_size=0", "10M")]
    [InlineData("cluster_size=3G", "10M")]
    [InlineData("cluster_size=4k", "16T")]
    public void Create_refusals_match_qemu_img(string options, string size)
    {
        using var dir = new TempDirectory();
        var theirs = ExternalTool.Run("qemu-img", "create", "-f", "parallels", "-o", options, dir.File("t.prl"), size);
        var ours = Diskimg.Run("create", "-f", "parallels", "-o", options, dir.File("o.prl"), size);
        Assert.Equal(1, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdOut.Replace("t.prl", "o.prl", StringComparison.Ordinal), ours.StdOut);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal).Replace("t.prl", "o.prl", StringComparison.Ordinal), ours.StdErr);

        // qemu-img creates the host file before the driver judges the sizes, and leaves it empty.
        Assert.Equal(new FileInfo(dir.File("t.prl")).Length, new FileInfo(dir.File("o.prl")).Length);
    }

    [Theory]
    [InlineData("cluster_size=4k", false)]
    [InlineData("cluster_size=64k", true)]
    [InlineData("cluster_size=1M", false)]
    public void Same_writes_give_the_same_file_as_qemu(string options, bool truncateMode)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.prl");
        var theirs = dir.File("theirs.prl");
        ExternalTool.QemuImg("create", "-q", "-f", "parallels", "-o", options, theirs, "10M");
        Diskimg.Ok("create", "-q", "-f", "parallels", "-o", options, ours, "10M");
        foreach (var write in Writes)
        {
            if (truncateMode)
            {
                ExternalTool.QemuIo("-c", write, Json(theirs, "\"prealloc-mode\":\"truncate\",\"prealloc-size\":\"3M\","));
                Diskimg.Ok("io", "-c", write, Json(ours, "\"prealloc-mode\":\"truncate\",\"prealloc-size\":\"3M\","));
            }
            else
            {
                ExternalTool.QemuIo("-f", "parallels", "-c", write, theirs);
                Diskimg.Ok("io", "-f", "parallels", "-c", write, ours);
            }
        }

        // Same allocation order, same growth and trim, same BAT: the files are the same bytes.
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        Assert.Equal("No errors were found on the image.", ExternalTool.QemuImg("check", ours).Split('\n')[0]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
        MigrationInterop.AssertReadsAsQemu(dir, theirs, "parallels");
        var theirCheck = ExternalTool.Run("qemu-img", "check", "--output=json", theirs);
        var ourCheck = Diskimg.Run("check", "--output=json", theirs);
        Assert.Equal(theirCheck.ExitCode, ourCheck.ExitCode);
        Assert.Equal(theirCheck.StdOut, ourCheck.StdOut);
    }

    [Fact]
    public void Images_qemu_img_writes_read_as_in_qemu_img()
    {
        using var dir = new TempDirectory();
        var path = dir.File("src.prl");
        MigrationInterop.QemuImage(path, "parallels", ["-o", "cluster_size=16k"], "37M");
        MigrationInterop.AssertReadsAsQemu(dir, path, "parallels");
        Assert.Equal(ExternalTool.QemuImg("check", path), Diskimg.Ok("check", path));
        Assert.Equal(ExternalTool.QemuImg("info", path), Diskimg.Ok("info", path));
    }

    [Theory]
    [InlineData("resize @ 20M")]
    [InlineData("amend -o size=20M @")]
    [InlineData("snapshot -c s1 @")]
    [InlineData("snapshot -l @")]
    [InlineData("rebase -u -b other.raw @")]
    [InlineData("create -f parallels -b @ -F parallels overlay.prl")]
    [InlineData("measure -O parallels @")]
    [InlineData("create -f parallels -o help")]
    public void Verbs_answer_as_qemu_img(string command)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.prl");
        var ours = dir.File("ours.prl");
        ExternalTool.QemuImg("create", "-q", "-f", "parallels", theirs, "10M");
        ExternalTool.QemuIo("-f", "parallels", "-c", "write -P 1 0 3M", theirs);
        File.Copy(theirs, ours);
        var expected = ExternalTool.Run("qemu-img", [.. command.Replace("@", theirs, StringComparison.Ordinal).Split(' ')]);
        var actual = Diskimg.Run([.. command.Replace("@", ours, StringComparison.Ordinal).Split(' ')]);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdOut.Replace(theirs, ours, StringComparison.Ordinal), actual.StdOut);
        Assert.Equal(expected.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal).Replace(theirs, ours, StringComparison.Ordinal), actual.StdErr);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Fact]
    public void Qemu_io_commands_print_and_write_as_qemu_io()
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.prl");
        var ours = dir.File("ours.prl");
        ExternalTool.QemuImg("create", "-q", "-f", "parallels", theirs, "10M");
        ExternalTool.QemuIo("-f", "parallels", "-c", "write -P 1 0 3M", theirs);
        File.Copy(theirs, ours);
        string[] commands =
        [
            "-c", "map", "-c", "alloc 0 10M", "-c", "write -z 5M 64k", "-c", "discard 0 1M", "-c", "read -P 1 0 1M", "-c", "info",
            "-c", "length", "-c", "aio_write -P 3 7M 4k", "-c", "aio_flush", "-c", "map",
        ];
        var expected = ExternalTool.Run("qemu-io", ["-f", "parallels", .. commands, theirs]);
        var actual = Diskimg.Run(["io", "-f", "parallels", .. commands, ours]);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(Timings(expected.StdOut), Timings(actual.StdOut));
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Fact]
    public void Old_magic_images_count_the_bat_in_sectors()
    {
        using var dir = new TempDirectory();
        var path = dir.File("old.prl");
        File.WriteAllBytes(path, OldMagicImage());
        MigrationInterop.AssertReadsAsQemu(dir, path, "parallels");
        var theirs = dir.File("theirs.prl");
        File.Copy(path, theirs);
        ExternalTool.QemuIo("-f", "parallels", "-c", "write -P 5 0 20k", "-c", "write -P 6 40k 1k", theirs);
        Diskimg.Ok("io", "-f", "parallels", "-c", "write -P 5 0 20k", "-c", "write -P 6 40k 1k", path);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(path));
    }

    [Fact]
    public void Reads_fall_through_to_a_backing_node_given_at_open()
    {
        using var dir = new TempDirectory();
        var backing = dir.File("base.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", backing, "10M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 7 0 10M", backing);
        var theirs = dir.File("theirs.prl");
        var ours = dir.File("ours.prl");
        ExternalTool.QemuImg("create", "-q", "-f", "parallels", theirs, "10M");
        File.Copy(theirs, ours);
        string Name(string path) => "json:{\"driver\":\"parallels\",\"file\":{\"driver\":\"file\",\"filename\":\"" + path
            + "\"},\"backing\":{\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"" + backing + "\"}}}";
        string[] commands = ["-c", "write -P 8 1M 4k", "-c", "read -P 7 0 4k", "-c", "read -P 8 1M 4k", "-c", "read -P 7 1052672 4k"];
        var expected = ExternalTool.Run("qemu-io", [.. commands, Name(theirs)]);
        var actual = Diskimg.Run(["io", .. commands, Name(ours)]);
        Assert.Equal(Timings(expected.StdOut), Timings(actual.StdOut));
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Fact]
    public void Conversions_both_ways_keep_content_and_pass_check()
    {
        using var dir = new TempDirectory();
        var source = dir.File("src.qcow2");
        MigrationInterop.QemuImage(source, "qcow2", [], "37M");
        var prl = dir.File("ours.prl");
        var theirsPrl = dir.File("theirs.prl");
        Diskimg.Ok("convert", "-f", "qcow2", "-O", "parallels", source, prl);
        ExternalTool.QemuImg("convert", "-f", "qcow2", "-O", "parallels", source, theirsPrl);
        Assert.Equal(File.ReadAllBytes(theirsPrl), File.ReadAllBytes(prl));
        MigrationInterop.AssertSameContent(source, "qcow2", prl, "parallels");
        Assert.Equal("No errors were found on the image.", ExternalTool.QemuImg("check", prl).Split('\n')[0]);
        var back = dir.File("back.qcow2");
        Diskimg.Ok("convert", "-f", "parallels", "-O", "qcow2", prl, back);
        MigrationInterop.AssertSameContent(source, "qcow2", back, "qcow2");
    }

    [Theory]
    [InlineData("check")]
    [InlineData("check --output=json")]
    [InlineData("check -r leaks")]
    [InlineData("check -r all")]
    public void Check_and_repair_of_damaged_images_match_qemu_img(string verb)
    {
        using var dir = new TempDirectory();
        var path = dir.File("damaged.prl");
        ExternalTool.QemuImg("create", "-q", "-f", "parallels", path, "10M");
        ExternalTool.QemuIo("-f", "parallels", "-c", "write -P 1 0 1k", "-c", "write -P 2 3M 64k", path);
        var entry = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, 100);
        MigrationInterop.Patch(path, 64 + 8, entry); // a cluster past the end of the file
        BinaryPrimitives.WriteUInt32LittleEndian(entry, 0x746F6E59);
        MigrationInterop.Patch(path, 44, entry); // left in use
        using (var file = File.OpenWrite(path))
        {
            file.SetLength(8 << 20); // space past the last cluster
        }

        var theirs = dir.File("theirs.prl");
        File.Copy(path, theirs);
        string[] args = [.. verb.Split(' ')];
        var expected = ExternalTool.Run("qemu-img", [.. args, theirs]);
        var actual = Diskimg.Run([.. args, path]);
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdOut.Replace(theirs, path, StringComparison.Ordinal), actual.StdOut);
        Assert.Equal(expected.StdErr, actual.StdErr);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(path));
    }

    [Fact]
    public void An_image_left_in_use_opens_read_only_and_is_refused_for_writing()
    {
        using var dir = new TempDirectory();
        var path = dir.File("inuse.prl");
        ExternalTool.QemuImg("create", "-q", "-f", "parallels", path, "10M");
        var entry = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(entry, 0x746F6E59);
        MigrationInterop.Patch(path, 44, entry);
        Assert.Equal(ExternalTool.QemuImg("info", path), Diskimg.Ok("info", path));
        var theirs = ExternalTool.Run("qemu-io", "-c", "read 0 512", path);
        var ours = Diskimg.Run("io", "-c", "read 0 512", path);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-io:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
    }

    [Theory]
    [InlineData(16, 3u, 0x3u)] // version
    [InlineData(0, 0x41414141u, 0x41414141u)] // magic
    [InlineData(28, 0u, 0u)] // zero sectors per cluster
    [InlineData(28, 5000000u, 0u)] // cluster too big
    [InlineData(32, 0x20000000u, 0u)] // catalog too large
    [InlineData(36, 0u, 0x400000u)] // size past what the block layer addresses
    [InlineData(56, 8u, 0u)] // a Format Extension that is not one
    public void Hostile_headers_fail_as_in_qemu_img(int offset, uint low, uint high)
    {
        using var dir = new TempDirectory();
        var path = dir.File("hostile.prl");
        ExternalTool.QemuImg("create", "-q", "-f", "parallels", path, "10M");
        var bytes = new byte[offset is 36 or 56 ? 8 : 4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, low);
        if (bytes.Length == 8)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), high);
        }

        MigrationInterop.Patch(path, offset, bytes);
        MigrationInterop.AssertSameOpenFailure(path, "parallels");
    }

    [Fact]
    public void Runtime_options_are_taken_and_refused_as_in_qemu_img()
    {
        using var dir = new TempDirectory();
        var path = dir.File("opts.prl");
        ExternalTool.QemuImg("create", "-q", "-f", "parallels", path, "10M");
        foreach (var options in new[] { "\"prealloc-mode\":\"truncate\",\"prealloc-size\":\"1M\",", "\"prealloc-mode\":\"bogus\",", "\"prealloc-size\":\"abc\"," })
        {
            var theirs = ExternalTool.Run("qemu-img", "info", Json(path, options));
            var ours = Diskimg.Run("info", Json(path, options));
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(theirs.StdOut, ours.StdOut);
            Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
        }
    }

    private static string Json(string path, string options) =>
        "json:{\"driver\":\"parallels\"," + options + "\"file\":{\"driver\":\"file\",\"filename\":\"" + path + "\"}}";

    /// <summary>qemu-io's output without its timing lines.</summary>
    private static string Timings(string output) =>
        string.Join('\n', output.Split('\n').Where(l => !l.Contains(" ops; ", StringComparison.Ordinal)));

    /// <summary>
    /// An image of the old magic, written by hand: 4 clusters of 16 KiB, data offset 0 (so QEMU puts the data end at
    /// the BAT's end taken as sectors), two clusters allocated with entries in sectors.
    /// </summary>
    internal static byte[] OldMagicImage()
    {
        const int tracks = 32;
        var image = new byte[(512 + (2 * tracks)) * 512];
        "WithoutFreeSpace"u8.CopyTo(image);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(16), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(20), 16);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(24), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(28), tracks);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(32), 4);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(36), (1UL << 32) | (4 * tracks)); // high half ignored
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(64 + 4), 512);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(64 + 12), 512 + tracks);
        image.AsSpan(512 * 512, tracks * 512).Fill(0x11);
        image.AsSpan((512 + tracks) * 512, tracks * 512).Fill(0x22);
        return image;
    }
}
