using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>
/// vmdk, vpc, vhdx and vdi in the node setups scripts build around them, run by qemu-img/qemu-io and by diskimg on
/// the same command lines: a format stacked on another format's node, a blkdebug or quorum node under a vmdk, vpc's
/// size-calculation override, vmdk header checks, and the human sizes info prints. Output is compared after the
/// program name and the directory are normalised.
/// </summary>
public class OtherFormatNodeInteropTests
{
    [Theory]
    [InlineData(1179648L)]      // 1.125 MiB: a tie, rounded to even
    [InlineData(1024000L)]      // 1000 KiB: the unit changes at 1000 of the smaller one
    [InlineData(1073741824000L)] // 1000 GiB
    [InlineData(1048051712L)]   // 999.5 MiB: three digits round up to 1000, printed in exponent form
    [InlineData(10480128L)]
    [InlineData(512L)]
    public void Info_prints_sizes_as_qemu_img(long bytes)
    {
        using var dir = new TempDirectory();
        var path = dir.File("r.img");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", path, bytes.ToString(System.Globalization.CultureInfo.InvariantCulture));

        string VirtualSize(string output) => output.Split('\n').Single(l => l.StartsWith("virtual size:", StringComparison.Ordinal));
        Assert.Equal(VirtualSize(ExternalTool.QemuImg("info", "-f", "raw", path)), VirtualSize(Diskimg.Ok("info", "-f", "raw", path)));
    }

    /// <summary>A format whose guest data is another image of the same format (iotests 072's nesting).</summary>
    [Theory]
    [InlineData("vmdk")]
    [InlineData("vpc")]
    [InlineData("vhdx")]
    [InlineData("vdi")]
    public void A_format_node_reads_through_another_format_node(string format)
    {
        using var dir = new TempDirectory();
        var inner = dir.File("inner." + format);
        var outer = dir.File("outer." + format);
        ExternalTool.QemuImg("create", "-q", "-f", format, inner, "64M");
        ExternalTool.QemuIo("-f", format, "-c", "write -P 42 0 512", "-c", "write -P 23 512 512", "-c", "write -P 66 1024 512", inner);
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", format, inner, outer);

        string[] args = ["-c", $"open -o driver={format},file.driver={format},file.file.filename={outer}",
            "-c", "read -q -P 42 0 512", "-c", "read -q -P 23 512 512", "-c", "read -q -P 66 1024 512", "-c", "read -q -P 0 64k 4k"];
        var theirs = ExternalTool.Run("qemu-io", args);
        var ours = Diskimg.Run(["io", .. args]);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.StdErr.Replace("qemu-io:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
        Assert.DoesNotContain("Pattern verification failed", ours.StdOut, StringComparison.Ordinal);
    }

    /// <summary>A vmdk parent named by a json: name with a blkdebug node that fails the first data write (iotests 020).</summary>
    [Fact]
    public void Commit_into_a_vmdk_parent_behind_a_failing_blkdebug_node_fails_as_qemu_img_fails()
    {
        var theirs = CommitThroughBlkdebug(dir => ExternalTool.Run("qemu-img", "commit", dir.File("t.vmdk")));
        var ours = CommitThroughBlkdebug(dir => Diskimg.Run("commit", dir.File("t.vmdk")));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
        Assert.Contains("No space left on device", ours.StdErr, StringComparison.Ordinal);
    }

    private static ExternalTool.Result CommitThroughBlkdebug(Func<TempDirectory, ExternalTool.Result> commit)
    {
        using var dir = new TempDirectory();
        var basePath = dir.File("t.vmdk.base");
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", "-o", "zeroed_grain=on", basePath, "1M");
        var backing = "json:{'driver': 'vmdk', 'file': { 'driver': 'blkdebug', 'inject-error': [{ 'event': 'write_aio', 'errno': 28, 'once': true }], 'image': { 'driver': 'file', 'filename': '" + basePath + "' }}}";
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", "-o", "zeroed_grain=on", "-b", backing, "-F", "vmdk", dir.File("t.vmdk"), "1M");
        ExternalTool.QemuIo("-f", "vmdk", "-c", "write -P 7 0 64k", dir.File("t.vmdk"));
        var result = commit(dir);
        return new ExternalTool.Result(result.ExitCode, result.StdOut, result.StdErr.Replace(dir.Path, "DIR", StringComparison.Ordinal));
    }

    /// <summary>
    /// info on a vmdk under a blkdebug or quorum node names the image by its json: description, and under a quorum
    /// node a relative parent has no actual path (iotests 110).
    /// </summary>
    [Theory]
    [InlineData("blkdebug")]
    [InlineData("quorum")]
    public void Info_on_a_vmdk_over_another_node_matches_qemu_img(string node)
    {
        // One set of files for both tools: a vmdk's CID is random, so each image is made once.
        using var dir = new TempDirectory();
        var top = dir.File("t.vmdk");
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", dir.File("t.vmdk.base"), "64M");
        ExternalTool.RunIn(dir.Path, "qemu-img", "create", "-q", "-f", "vmdk", "-b", "t.vmdk.base", "-F", "vmdk", "t.vmdk").EnsureSuccess("create");
        File.Copy(top, top + ".copy");
        var name = node == "blkdebug"
            ? "json:{\"driver\": \"vmdk\", \"file\": {\"driver\": \"blkdebug\", \"image\": {\"driver\": \"file\", \"filename\": \"" + top + "\"}, \"set-state\": [{\"event\": \"read_aio\", \"new_state\": 42}]}}"
            : "json:{\"driver\": \"vmdk\", \"file\": {\"driver\": \"quorum\", \"children\": [{\"driver\": \"file\", \"filename\": \"" + top + "\"}, {\"driver\": \"file\", \"filename\": \"" + top + ".copy\"}], \"vote-threshold\": 1}}";

        // As the iotest: json: names are filtered to one word (a blkdebug node's generated name lists its rules in
        // QEMU's own key order), and the disk size and format-specific part are left out (its filter drops them).
        string Normalise(string text) => System.Text.RegularExpressions.Regex.Replace(
            string.Join('\n', text.Split('\n').TakeWhile(l => !l.StartsWith("Format specific information:", StringComparison.Ordinal))
                .Where(l => !l.StartsWith("disk size:", StringComparison.Ordinal))), "json:\\{.*\\}", "JSON");
        var theirs = ExternalTool.Run("qemu-img", "info", name);
        var ours = Diskimg.Run("info", name);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(Normalise(theirs.StdOut), Normalise(ours.StdOut));
        Assert.Equal(Normalise(theirs.StdErr).Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), Normalise(ours.StdErr));
        Assert.Contains("image: JSON", Normalise(ours.StdOut), StringComparison.Ordinal);
    }

    /// <summary>A monolithicFlat descriptor read through a quorum node cannot resolve its relative extent (iotests 059).</summary>
    [Fact]
    public void A_relative_extent_under_a_quorum_node_is_refused_as_qemu_img_refuses_it()
    {
        using var dir = new TempDirectory();
        var top = dir.File("t.vmdk");
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", top, "64M");
        File.Copy(top, top + ".orig");
        var name = "json:{ \"driver\": \"vmdk\", \"file\": { \"driver\": \"quorum\", \"children\": [ { \"driver\": \"file\", \"filename\": \"" + top
            + "\" }, { \"driver\": \"file\", \"filename\": \"" + top + ".orig\" } ], \"vote-threshold\": 1 } }";
        var theirs = ExternalTool.Run("qemu-img", "info", name);
        var ours = Diskimg.Run("info", name);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(QuorumNamesOut(theirs.StdErr).Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), QuorumNamesOut(ours.StdErr));
        Assert.Contains("Cannot generate a base directory for quorum nodes", ours.StdErr, StringComparison.Ordinal);
    }

    /// <summary>The json: names inside quotes replaced by one word, as the iotest filters them (key order may differ).</summary>
    private static string QuorumNamesOut(string text) => System.Text.RegularExpressions.Regex.Replace(text, "'json:[^']*'", "QUORUM");

    /// <summary>vpc's force_size_calc on an image whose CHS geometry and footer size differ.</summary>
    [Theory]
    [InlineData("current_size")]
    [InlineData("chs")]
    [InlineData("bogus")]
    public void Vpc_size_calculation_override_matches_qemu_img(string mode)
    {
        using var dir = new TempDirectory();
        var path = dir.File("t.vpc");
        ExternalTool.QemuImg("create", "-q", "-f", "vpc", path, "4G");
        string[] args = ["map", "--output=json", "--image-opts", $"driver=vpc,force_size_calc={mode},file.filename={path}"];
        var theirs = ExternalTool.Run("qemu-img", args);
        var ours = Diskimg.Run(args);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
    }

    /// <summary>A sparse vmdk header whose grain directory size overflows 32 bits is refused with QEMU's first reason.</summary>
    [Fact]
    public void A_huge_vmdk_capacity_is_refused_with_qemu_img_words()
    {
        using var dir = new TempDirectory();
        var path = dir.File("t.vmdk");
        ExternalTool.QemuImg("create", "-q", "-f", "vmdk", path, "1M");
        using (var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite))
        {
            // capacity (sectors) at offset 12: 2^55 + 2^42, so 2^39 + 2^26 directory entries of 64 Ki sectors each.
            var capacity = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(capacity, (1UL << 55) + (1UL << 42));
            file.Position = 12;
            file.Write(capacity);
        }

        var theirs = ExternalTool.Run("qemu-img", "info", path);
        var ours = Diskimg.Run("info", path);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
    }

    /// <summary>A VDI header whose disk size is above what QEMU supports is refused with QEMU's size message (iotests 084).</summary>
    [Fact]
    public void A_vdi_disk_size_above_the_maximum_is_refused_with_qemu_img_words()
    {
        using var dir = new TempDirectory();
        var path = dir.File("t.vdi");
        ExternalTool.QemuImg("create", "-q", "-f", "vdi", path, "64M");
        using (var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite))
        {
            // The disk size field of the header: 512 TiB - 128 MiB + 64 KiB.
            var size = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(size, 0x1fffff8010000UL);
            file.Position = 0x170;
            file.Write(size);
        }

        var theirs = ExternalTool.Run("qemu-img", "info", path);
        var ours = Diskimg.Run("info", path);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
        Assert.Contains("Unsupported VDI image size", ours.StdErr, StringComparison.Ordinal);
    }
}
