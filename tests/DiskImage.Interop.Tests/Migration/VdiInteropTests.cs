using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>VirtualBox VDI, static and dynamic, judged by qemu-img (read, write, check).</summary>
public class VdiInteropTests
{
    [Theory]
    [InlineData("static=off")]
    [InlineData("static=on")]
    public void Images_qemu_img_writes_read_as_in_qemu_img(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("src.vdi");
        MigrationInterop.QemuImage(path, "vdi", ["-o", options], "37M");
        MigrationInterop.AssertReadsAsQemu(dir, path, "vdi");
        Assert.Equal(ExternalTool.QemuImg("check", "--output=json", path).Replace(path, "P", StringComparison.Ordinal),
            Diskimg.Ok("check", "--output=json", path).Replace(path, "P", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("static=off")]
    [InlineData("static=on")]
    public void Images_we_write_pass_qemu_img_check_and_compare(string options)
    {
        using var dir = new TempDirectory();
        var source = dir.File("src.qcow2");
        MigrationInterop.QemuImage(source, "qcow2", [], "37M");
        var ours = dir.File("ours.vdi");
        Diskimg.Ok("convert", "-f", "qcow2", "-O", "vdi", "-o", options, source, ours);
        MigrationInterop.AssertSameContent(source, "qcow2", ours, "vdi");
        Assert.Equal("No errors were found on the image.\n", ExternalTool.QemuImg("check", ours));

        // Writes into an image we created, then qemu-img's view of it.
        Diskimg.Ok("io", "-c", "write -P 0x44 10M 1536k", "-c", "write -P 0x55 100k 4k", ours);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x44 10M 1536k", "-c", "write -P 0x55 100k 4k", source);
        MigrationInterop.AssertSameContent(source, "qcow2", ours, "vdi");
        Assert.Equal("No errors were found on the image.\n", ExternalTool.QemuImg("check", ours));
        MigrationInterop.AssertReadsAsQemu(dir, ours, "vdi");
    }

    [Theory]
    [InlineData("1000", "")]
    [InlineData("100M", "")]
    [InlineData("3M", "static=on")]
    [InlineData("0", "")]
    public void Create_writes_qemu_img_s_layout(string size, string options)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.vdi");
        var theirs = dir.File("theirs.vdi");
        string[] o = options.Length == 0 ? [] : ["-o", options];
        var expected = ExternalTool.QemuImg(["create", "-f", "vdi", .. o, theirs, size]);
        Assert.Equal(expected.Replace(theirs, ours, StringComparison.Ordinal), Diskimg.Ok(["create", "-f", "vdi", .. o, ours, size]));
        var a = File.ReadAllBytes(theirs);
        var b = File.ReadAllBytes(ours);
        Assert.Equal(a.Length, b.Length);

        // All but the two random UUIDs (image and last snapshot) is identical.
        Assert.Equal(a.AsSpan(0, 0x188).ToArray(), b.AsSpan(0, 0x188).ToArray());
        Assert.Equal(a.AsSpan(0x1A8).ToArray(), b.AsSpan(0x1A8).ToArray());
    }

    [Fact]
    public void Check_reports_damaged_block_maps_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var path = dir.File("damaged.vdi");
        MigrationInterop.QemuImage(path, "vdi", [], "37M");

        // Block 4 points where block 3 points; block 20 points past the image; the header's count is then wrong.
        var entry = new byte[4];
        using (var file = File.OpenRead(path))
        {
            file.Position = 0x200 + (3 * 4);
            file.ReadExactly(entry);
        }

        MigrationInterop.Patch(path, 0x200 + (4 * 4), entry);
        MigrationInterop.Patch(path, 0x200 + (20 * 4), 0x00, 0x01, 0x00, 0x00);
        var theirs = ExternalTool.Run("qemu-img", "check", path);
        var ours = Diskimg.Run("check", path);
        Assert.Equal(2, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.StdErr, ours.StdErr);
        Assert.Equal(63, Diskimg.Run("check", "-r", "all", path).ExitCode);
    }

    [Fact]
    public void Hostile_headers_fail_with_qemu_img_s_line()
    {
        using var dir = new TempDirectory();
        var good = dir.File("good.vdi");
        MigrationInterop.QemuImage(good, "vdi", [], "37M");
        foreach (var (offset, value) in new[] { (0x44, 0x00020001u), (0x154, 0x201u), (0x158, 0x401u), (0x168, 4096u), (0x178, 0x200000u), (0x180, 2u), (0x1A8, 1u), (0x1B8, 1u), (0x180, 0x40000000u) })
        {
            var crafted = dir.File($"crafted-{offset:x}-{value:x}.vdi");
            File.Copy(good, crafted);
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
            MigrationInterop.Patch(crafted, offset, bytes);
            MigrationInterop.AssertSameOpenFailure(crafted);
        }
    }
}
