using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>QED images judged by qemu-img and qemu-io: create, info, map, reads, writes, check and repair, resize, convert.</summary>
public class QedInteropTests
{
    private static readonly string[] Writes =
    [
        "write -P 0x22 1000 5000", "write -P 0x33 2M 70k", "write -z 3M 1M", "write -P 0x44 4100k 3k", "write -z 512 512",
        "write -z 2100k 5k",
    ];

    [Theory]
    [InlineData("cluster_size=4k,table_size=2", false)]
    [InlineData("cluster_size=4k,table_size=4", true)]
    [InlineData("cluster_size=64k,table_size=2", true)]
    [InlineData("cluster_size=64k,table_size=4", false)]
    [InlineData("cluster_size=1M,table_size=16", true)]
    public void Same_writes_give_the_same_file_as_qemu(string options, bool withBacking)
    {
        using var dir = new TempDirectory();
        var backing = dir.File("base.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", backing, "3M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x11 0 3M", backing);
        string[] b = withBacking ? ["-b", "base.raw", "-F", "raw"] : [];
        var ours = dir.File("ours.qed");
        var theirs = dir.File("theirs.qed");
        var expected = ExternalTool.QemuImg(["create", "-f", "qed", "-o", options, .. b, theirs, "5M"]);
        Assert.Equal(expected.Replace(theirs, ours, StringComparison.Ordinal), Diskimg.Ok(["create", "-f", "qed", "-o", options, .. b, ours, "5M"]));
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        foreach (var write in Writes)
        {
            ExternalTool.QemuIo("-f", "qed", "-c", write, theirs);
            Diskimg.Ok("io", "-f", "qed", "-c", write, ours);
        }

        // Same allocation order, same copy-on-write, same tables: the files are the same bytes.
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
        Assert.Equal("No errors were found on the image.\n", ExternalTool.QemuImg("check", ours).Split("\n")[0] + "\n");
        MigrationInterop.AssertReadsAsQemu(dir, theirs, "qed");
        var theirCheck = ExternalTool.Run("qemu-img", "check", "--output=json", theirs);
        var ourCheck = Diskimg.Run("check", "--output=json", theirs);
        Assert.Equal(theirCheck.ExitCode, ourCheck.ExitCode);
        Assert.Equal(theirCheck.StdOut, ourCheck.StdOut);
        Assert.Equal(ExternalTool.QemuImg("info", theirs), Diskimg.Ok("info", theirs));
    }

    [Fact]
    public void Images_qemu_img_writes_read_as_in_qemu_img()
    {
        using var dir = new TempDirectory();
        var path = dir.File("src.qed");
        MigrationInterop.QemuImage(path, "qed", ["-o", "cluster_size=16k"], "37M");
        MigrationInterop.AssertReadsAsQemu(dir, path, "qed");
        Assert.Equal(ExternalTool.QemuImg("check", "--output=json", path), Diskimg.Ok("check", "--output=json", path));
    }

    [Fact]
    public void Overlay_reads_fall_through_to_a_qcow2_backing_file()
    {
        using var dir = new TempDirectory();
        var base2 = dir.File("base.qcow2");
        MigrationInterop.QemuImage(base2, "qcow2", [], "37M");
        var overlay = dir.File("overlay.qed");
        ExternalTool.QemuImg("create", "-q", "-f", "qed", "-b", "base.qcow2", "-F", "qcow2", overlay);
        ExternalTool.QemuIo("-f", "qed", "-c", "write -P 0x77 3100k 10k", "-c", "write -z 36M 64k", overlay);
        MigrationInterop.AssertReadsAsQemu(dir, overlay, "qed");
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", overlay), Diskimg.Ok("info", "--output=json", overlay));
    }

    [Fact]
    public void Conversions_both_ways_keep_content_and_pass_check()
    {
        using var dir = new TempDirectory();
        var source = dir.File("src.qcow2");
        MigrationInterop.QemuImage(source, "qcow2", [], "37M");
        var qed = dir.File("ours.qed");
        Diskimg.Ok("convert", "-f", "qcow2", "-O", "qed", source, qed);
        MigrationInterop.AssertSameContent(source, "qcow2", qed, "qed");
        Assert.Equal("No errors were found on the image.", ExternalTool.QemuImg("check", qed).Split('\n')[0]);
        var back = dir.File("back.qcow2");
        Diskimg.Ok("convert", "-f", "qed", "-O", "qcow2", qed, back);
        MigrationInterop.AssertSameContent(source, "qcow2", back, "qcow2");
        var theirsBack = dir.File("theirs-back.qcow2");
        ExternalTool.QemuImg("convert", "-f", "qed", "-O", "qcow2", qed, theirsBack);
        Assert.Equal(ExternalTool.QemuImg("map", "--output=json", theirsBack), ExternalTool.QemuImg("map", "--output=json", back));
    }

    [Fact]
    public void Check_and_repair_of_damaged_tables_match_qemu_img()
    {
        using var dir = new TempDirectory();
        var path = dir.File("damaged.qed");
        ExternalTool.QemuImg("create", "-q", "-f", "qed", "-o", "cluster_size=4k", path, "4M");
        ExternalTool.QemuIo("-f", "qed", "-c", "write -P 1 0 64k", path);
        var bytes = File.ReadAllBytes(path);
        var l1 = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        var l2 = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan((int)l1));
        var entry = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(entry, 0x10000000);
        MigrationInterop.Patch(path, l2 + 8, entry); // past the end of the file
        MigrationInterop.Patch(path, l2 + 16, bytes.AsSpan((int)l2 + 24, 8).ToArray()); // shared with the next entry
        BinaryPrimitives.WriteUInt64LittleEndian(entry, 0x1234);
        MigrationInterop.Patch(path, l2 + 32, entry); // unaligned
        var copy = dir.File("copy.qed");
        File.Copy(path, copy);

        foreach (var args in new[] { new[] { "check", path }, ["check", "--output=json", path] })
        {
            var theirs = ExternalTool.Run("qemu-img", args);
            var ours = Diskimg.Run(args);
            Assert.Equal(2, theirs.ExitCode);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(theirs.StdOut, ours.StdOut);
        }

        var theirRepair = ExternalTool.Run("qemu-img", "check", "-r", "all", copy);
        var ourRepair = Diskimg.Run("check", "-r", "all", path);
        Assert.Equal(theirRepair.ExitCode, ourRepair.ExitCode);
        Assert.Equal(theirRepair.StdOut, ourRepair.StdOut);
        Assert.Equal(File.ReadAllBytes(copy), File.ReadAllBytes(path));

        var theirRead = ExternalTool.Run("qemu-io", "-f", "qed", "-c", "read 0 64k", copy);
        var ourRead = Diskimg.Run("io", "-f", "qed", "-c", "read 0 64k", path);
        Assert.Equal(theirRead.ExitCode, ourRead.ExitCode);
        Assert.Equal(theirRead.StdOut.Split('\n')[0], ourRead.StdOut.Split('\n')[0]); // the timing line differs
    }

    [Fact]
    public void A_need_check_image_is_repaired_on_a_writable_open_as_qemu_does()
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qed");
        ExternalTool.QemuImg("create", "-q", "-f", "qed", ours, "8M");
        ExternalTool.QemuIo("-f", "qed", "-c", "write -P 3 0 100k", ours);
        // A crash after appending clusters and before linking them: the flag is set and a cluster is leaked.
        MigrationInterop.Patch(ours, 16, 2);
        using (var file = File.OpenWrite(ours))
        {
            file.SetLength(file.Length + 65536);
        }

        var theirs = dir.File("theirs.qed");
        File.Copy(ours, theirs);
        var theirCheck = ExternalTool.Run("qemu-img", "check", "--output=json", theirs);
        Assert.Equal(3, theirCheck.ExitCode);
        Assert.Equal(theirCheck.StdOut.Replace("theirs", "ours", StringComparison.Ordinal), Diskimg.Run("check", "--output=json", ours).StdOut);
        ExternalTool.QemuIo("-f", "qed", "-c", "write -P 4 1M 4k", theirs);
        Diskimg.Ok("io", "-f", "qed", "-c", "write -P 4 1M 4k", ours);
        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Fact]
    public void Resize_grows_and_refuses_what_qemu_img_refuses()
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qed");
        var theirs = dir.File("theirs.qed");
        ExternalTool.QemuImg("create", "-q", "-f", "qed", theirs, "10M");
        Diskimg.Ok("create", "-q", "-f", "qed", ours, "10M");
        foreach (var args in new[] { new[] { "30M" }, ["--shrink", "10M"], ["+513"], ["--preallocation=falloc", "40M"], ["+1M"] })
        {
            var t = ExternalTool.Run("qemu-img", ["resize", "-f", "qed", theirs, .. args]);
            var o = Diskimg.Run(["resize", "-f", "qed", ours, .. args]);
            Assert.Equal(t.ExitCode, o.ExitCode);
            Assert.Equal(t.StdOut, o.StdOut);
            Assert.Equal(t.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), o.StdErr);
        }

        Assert.Equal(File.ReadAllBytes(theirs), File.ReadAllBytes(ours));
    }

    [Theory]
    [InlineData("-o cluster_size=1000")]
    [InlineData("-o table_size=3")]
    [InlineData("-o cluster_size=4k,table_size=1")]
    public void Create_refuses_what_qemu_img_refuses(string options)
    {
        using var dir = new TempDirectory();
        string[] o = [.. options.Split(' ')];
        var t = ExternalTool.Run("qemu-img", ["create", "-f", "qed", .. o, dir.File("t.qed"), "1T"]);
        var u = Diskimg.Run(["create", "-f", "qed", .. o, dir.File("t.qed"), "1T"]);
        Assert.NotEqual(0, t.ExitCode);
        Assert.Equal(t.ExitCode, u.ExitCode);
        Assert.Equal(t.StdOut, u.StdOut);
        Assert.Equal(t.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), u.StdErr);
        Assert.Equal(ExternalTool.QemuImg("create", "-f", "qed", "-o", "help"), Diskimg.Ok("create", "-f", "qed", "-o", "help"));
    }

    [Fact]
    public void Hostile_headers_fail_with_qemu_img_s_line()
    {
        using var dir = new TempDirectory();
        var good = dir.File("good.qed");
        ExternalTool.QemuImg("create", "-q", "-f", "qed", "-o", "cluster_size=4k", "-b", "x.raw", "-F", "raw", "-u", good, "1M");
        (int Offset, ulong Value, int Width)[] patches =
        [
            (16, 8, 8), (4, 1000, 4), (8, 3, 4), (48, 1000, 8), (48, 0x100000000000, 8), (40, 4097, 8), (40, 0, 8),
            (40, 0xfffffffffffff000, 8), (40, 1 << 20, 8), (8, 1, 4), (56, 4095, 4), (60, 5000, 4), (12, 0x1000000, 4),
            (16, 0x100, 8),
        ];
        foreach (var (offset, value, width) in patches)
        {
            var crafted = dir.File($"crafted-{offset}-{value:x}.qed");
            File.Copy(good, crafted);
            var bytes = new byte[width];
            if (width == 8)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)value);
            }

            MigrationInterop.Patch(crafted, offset, bytes);
            MigrationInterop.AssertSameOpenFailure(crafted);
        }
    }
}
