using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>VHD (qemu's <c>vpc</c>): what qemu-img writes we read as it does; what we write qemu-img and vhdiinfo accept.</summary>
public class VpcInteropTests
{
    [Theory]
    [InlineData("subformat=dynamic")]
    [InlineData("subformat=fixed")]
    [InlineData("subformat=fixed,force_size=on")]
    [InlineData("subformat=dynamic,force_size=on")]
    public void Images_qemu_img_writes_read_as_in_qemu_img(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("src.vhd");
        MigrationInterop.QemuImage(path, "vpc", ["-o", options], "37M");
        MigrationInterop.AssertReadsAsQemu(dir, path, "vpc");
    }

    [Theory]
    [InlineData("subformat=dynamic")]
    [InlineData("subformat=fixed")]
    [InlineData("subformat=fixed,force_size=on")]
    public void Images_we_write_compare_equal_and_are_read_by_vhdiinfo(string options)
    {
        using var dir = new TempDirectory();
        var source = dir.File("src.qcow2");
        MigrationInterop.QemuImage(source, "qcow2", [], "37M");
        var ours = dir.File("ours.vhd");
        Diskimg.Ok("convert", "-f", "qcow2", "-O", "vpc", "-o", options, source, ours);
        MigrationInterop.AssertSameContent(source, "qcow2", ours, "vpc");
        var vhdi = ExternalTool.Run(ExternalTool.Require("vhdiinfo"), ours).EnsureSuccess("vhdiinfo");
        Assert.Contains(options.StartsWith("subformat=fixed", StringComparison.Ordinal) ? "Disk type\t\t: Fixed" : "Disk type\t\t: Dynamic", vhdi.StdOut, StringComparison.Ordinal);
        var size = ExternalTool.QemuImg("info", "--output=json", "-f", "vpc", ours);
        Assert.Contains($"({System.Text.Json.JsonDocument.Parse(size).RootElement.GetProperty("virtual-size").GetInt64()} bytes)", vhdi.StdOut, StringComparison.Ordinal);

        // Back again: our reading of our own image matches qemu-img's reading of it.
        MigrationInterop.AssertReadsAsQemu(dir, ours, "vpc");
    }

    /// <summary>qemu-img's CHS rounding (and force_size) gives the virtual size; the whole file must match but for the timestamp, UUID and checksums.</summary>
    [Theory]
    [InlineData("1000", "")]
    [InlineData("1000", "force_size=on")]
    [InlineData("100M", "")]
    [InlineData("100M", "subformat=fixed")]
    [InlineData("100M", "subformat=fixed,force_size=on")]
    [InlineData("130G", "")]
    [InlineData("2040G", "")]
    [InlineData("0", "")]
    public void Create_rounds_sizes_as_qemu_img(string size, string options)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.vhd");
        var theirs = dir.File("theirs.vhd");
        string[] o = options.Length == 0 ? [] : ["-o", options];
        var expected = ExternalTool.QemuImg(["create", "-f", "vpc", .. o, theirs, size]);
        var actual = Diskimg.Ok(["create", "-f", "vpc", .. o, ours, size]);
        Assert.Equal(expected.Replace(theirs, ours, StringComparison.Ordinal), actual);
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", "-f", "vpc", theirs).Replace(theirs, ours, StringComparison.Ordinal).Split("\"actual-size\"")[0],
            ExternalTool.QemuImg("info", "--output=json", "-f", "vpc", ours).Split("\"actual-size\"")[0]);
        var a = File.ReadAllBytes(theirs);
        var b = File.ReadAllBytes(ours);
        Assert.Equal(a.Length, b.Length);
        foreach (var footer in new[] { 0L, a.Length - 512L }.Distinct())
        {
            // Timestamp (24..28), checksum (64..68) and UUID (68..84) differ by design.
            foreach (var range in new[] { (0, 24), (28, 64), (84, 512) })
            {
                Assert.Equal(a.AsSpan((int)footer + range.Item1, range.Item2 - range.Item1).ToArray(), b.AsSpan((int)footer + range.Item1, range.Item2 - range.Item1).ToArray());
            }
        }
    }

    [Fact]
    public void Size_beyond_2040_GiB_is_refused_as_qemu_img_refuses_it()
    {
        using var dir = new TempDirectory();
        var theirs = ExternalTool.Run("qemu-img", "create", "-f", "vpc", dir.File("a.vhd"), "3T");
        var ours = Diskimg.Run("create", "-f", "vpc", dir.File("a.vhd"), "3T");
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
    }

    [Fact]
    public void Hostile_headers_fail_with_qemu_img_s_line()
    {
        using var dir = new TempDirectory();
        var good = dir.File("good.vhd");
        MigrationInterop.QemuImage(good, "vpc", [], "37M");

        // Footer checksum wrong.
        var badSum = Copy(good, dir.File("badsum.vhd"));
        MigrationInterop.Patch(badSum, 64, 0);
        MigrationInterop.AssertSameOpenFailure(badSum);

        // A table entry pointing past the end of the file.
        var pastEnd = Copy(good, dir.File("pastend.vhd"));
        MigrationInterop.Patch(pastEnd, 1536 + 8, 0x00, 0xff, 0xff, 0x00);
        MigrationInterop.AssertSameOpenFailure(pastEnd);

        // Block size not a power of two, table too small, absurd table size: each in the dynamic header (whose
        // checksum QEMU ignores).
        foreach (var (offset, value) in new[] { (512 + 32, 0x00300000u), (512 + 28, 1u), (512 + 28, 0x7fffffffu), (512 + 16, 0x7fffffffu) })
        {
            var crafted = Copy(good, dir.File($"crafted{offset}-{value}.vhd"));
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
            MigrationInterop.Patch(crafted, offset, bytes);
            MigrationInterop.AssertSameOpenFailure(crafted);
        }
    }

    private static string Copy(string from, string to)
    {
        File.Copy(from, to);
        return to;
    }
}
