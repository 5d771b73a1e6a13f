using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Vmdk;

/// <summary>Crafted VMDKs: every one is refused or reported with one clean line, never a crash or a hang.</summary>
public class VmdkHostileTests
{
    [Theory]
    [InlineData("../outside.raw")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/../../outside.raw")]
    public void Extent_paths_leaving_the_image_directory_are_refused(string extentName)
    {
        using var dir = new TempDirectory();
        var inner = Directory.CreateDirectory(dir.File("images")).FullName;
        File.WriteAllBytes(dir.File("outside.raw"), new byte[1 << 20]);
        var descriptor = Path.Combine(inner, "disk.vmdk");
        File.WriteAllText(descriptor, $"# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW 2048 FLAT \"{extentName}\" 0\n");
        AssertOneLineFailure(Diskimg.Run("convert", "-O", "raw", descriptor, dir.File("out.raw")), "outside the directory");
        Assert.False(File.Exists(dir.File("out.raw")));
    }

    /// <summary>QEMU opens any extent path; with trust-extent-paths=on (an --image-opts key) we read what it reads.</summary>
    [Theory]
    [InlineData("../outside.raw")]
    [InlineData(null)] // the outside file's absolute path
    public void Trusted_extent_paths_outside_the_directory_read_as_qemu_img_reads_them(string? extentName)
    {
        using var dir = new TempDirectory();
        var inner = Directory.CreateDirectory(dir.File("images")).FullName;
        var data = new byte[1 << 20];
        new Random(11).NextBytes(data);
        File.WriteAllBytes(dir.File("outside.raw"), data);
        var descriptor = Path.Combine(inner, "disk.vmdk");
        File.WriteAllText(descriptor, $"# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\nRW 2048 FLAT \"{extentName ?? dir.File("outside.raw")}\" 0\n");
        ExternalTool.QemuImg("convert", "-f", "vmdk", "-O", "raw", descriptor, dir.File("theirs.raw"));
        Diskimg.Ok("convert", "--image-opts", $"driver=vmdk,file.filename={descriptor},trust-extent-paths=on", "-O", "raw", dir.File("ours.raw"));
        Assert.Equal(File.ReadAllBytes(dir.File("theirs.raw")), File.ReadAllBytes(dir.File("ours.raw")));
        // The blank line in front of the extent line makes QEMU list the extent twice; the data is read either way.
        Assert.Equal(data, File.ReadAllBytes(dir.File("ours.raw")).AsSpan(0, data.Length).ToArray());
    }

    [Fact]
    public void A_parent_chain_that_loops_is_refused()
    {
        using var dir = new TempDirectory();
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", dir.File("a.vmdk"), "1M");
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", "-b", "a.vmdk", "-F", "vmdk", dir.File("b.vmdk"));
        // Point a's descriptor at b: a -> b -> a.
        var bytes = File.ReadAllBytes(dir.File("a.vmdk"));
        var text = System.Text.Encoding.ASCII.GetBytes("parentFileNameHint=\"b.vmdk\"\n# Extent");
        var at = bytes.AsSpan().IndexOf("# Extent"u8);
        text.CopyTo(bytes.AsSpan(at));
        File.WriteAllBytes(dir.File("a.vmdk"), bytes);
        AssertOneLineFailure(Diskimg.Run("info", "--backing-chain", dir.File("b.vmdk")), "loop");
        AssertOneLineFailure(Diskimg.Run("convert", "-O", "raw", dir.File("b.vmdk"), dir.File("o.raw")), "loop");
    }

    [Theory]
    [InlineData(12, 0x7fffffffffffffffL)] // capacity
    [InlineData(20, 0x10000000L)] // granularity
    [InlineData(44, 100000L)] // grain table entries
    [InlineData(56, 0x7fffffffL)] // grain directory offset
    public void Absurd_header_values_get_one_clean_line(int field, long value)
    {
        using var dir = new TempDirectory();
        var image = dir.File("bad.vmdk");
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", image, "16M");
        var bytes = File.ReadAllBytes(image);
        if (field == 44)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(field), (uint)value);
        }
        else
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(field), value);
        }

        File.WriteAllBytes(image, bytes);
        var ours = Diskimg.Run("convert", "-O", "raw", image, dir.File("o.raw"));
        var theirs = ExternalTool.Run("qemu-img", "convert", "-O", "raw", image, dir.File("q.raw"));
        if (ours.ExitCode != 0)
        {
            AssertOneLineFailure(ours, "");
        }

        Assert.Equal(theirs.ExitCode == 0, ours.ExitCode == 0);
    }

    [Fact]
    public void A_grain_table_entry_past_the_end_reads_as_qemu_reads_it_and_check_reports_it_as_qemu_does()
    {
        using var dir = new TempDirectory();
        var image = dir.File("c.vmdk");
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", image, "64M");
        ExternalTool.QemuIo("-f", "vmdk", "-c", "write -P 1 0 64k", image);
        var bytes = File.ReadAllBytes(image);
        var directory = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(56));
        var table = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)(directory * 512)));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)(table * 512 + 4)), 0x100000);
        File.WriteAllBytes(image, bytes);

        var theirs = ExternalTool.Run("qemu-img", "check", image);
        var ours = Diskimg.Run("check", image);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
        var q = ExternalTool.Run("qemu-img", "convert", "-O", "raw", image, dir.File("q.raw"));
        var d = Diskimg.Run("convert", "-O", "raw", image, dir.File("d.raw"));
        Assert.Equal(q.ExitCode, d.ExitCode);
        if (q.ExitCode == 0)
        {
            Assert.True(VmdkInteropTests.FilesEqual(dir.File("q.raw"), dir.File("d.raw")));
        }
    }

    private static void AssertOneLineFailure(ExternalTool.Result result, string expected)
    {
        Assert.NotEqual(0, result.ExitCode);
        var lines = result.StdErr.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("diskimg: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
    }
}
