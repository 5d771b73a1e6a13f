using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// Bitmaps that qemu-img made and qemu-io dirtied, as info, check and measure show them: the same output
/// as qemu-img's, word for word.
/// </summary>
public class BitmapReadInteropTests
{
    [Theory]
    [InlineData("65536")]
    [InlineData("512")]
    [InlineData("2M")]
    public void Info_check_and_measure_match_qemu_img(string clusterSize)
    {
        using var dir = new TempDirectory();
        var image = QemuBitmapImage.Create(dir.File("vm.qcow2"), clusterSize).Path;
        ExternalTool.QemuImg("bitmap", "--add", "-g", "512", image, "fine");
        ExternalTool.QemuImg("bitmap", "--add", "-g", "64M", image, "coarse");
        ExternalTool.QemuImg("bitmap", "--add", image, new string('n', 1023));

        foreach (var args in new[]
        {
            new[] { "info", image }, ["info", "--output=json", image],
            ["check", image], ["check", "--output=json", image],
            ["measure", "-O", "qcow2", image], ["measure", "--output=json", "-O", "qcow2", image],
            ["measure", "-O", "qcow2", "-o", "cluster_size=32k", image],
            ["measure", "-O", "qcow2", "-o", "compat=0.10", image],
        })
        {
            var theirs = ExternalTool.Run("qemu-img", args);
            var ours = Diskimg.Run(args);
            Assert.True(theirs.ExitCode == ours.ExitCode, $"{string.Join(' ', args)}: exit {ours.ExitCode}, qemu-img {theirs.ExitCode}: {ours.StdErr}");

            // The required size of partly written 2 MiB clusters differs from qemu-img's (it sees their unwritten
            // tails as holes of the file), which has nothing to do with bitmaps: only their line is compared there.
            Assert.Equal(Relevant(theirs.StdOut, args[0], clusterSize), Relevant(ours.StdOut, args[0], clusterSize));
        }
    }

    [Fact]
    public void A_bitmap_left_in_use_is_listed_with_its_flag_and_check_stays_clean()
    {
        using var dir = new TempDirectory();
        var image = QemuBitmapImage.Create(dir.File("vm.qcow2"));
        image.WriteU32(image.DirectoryOffset + 12, 3); // in_use | auto, as a crash leaves it

        foreach (var args in new[] { new[] { "info", image.Path }, ["info", "--output=json", image.Path], ["check", image.Path] })
        {
            var theirs = ExternalTool.Run("qemu-img", args);
            var ours = Diskimg.Run(args);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(theirs.StdOut, ours.StdOut);
        }

        Assert.Contains("in-use", Diskimg.Ok("info", image.Path), StringComparison.Ordinal);
    }

    [Fact]
    public void Measure_of_a_version_2_or_raw_source_prints_no_bitmaps_size()
    {
        using var dir = new TempDirectory();
        var v2 = dir.File("v2.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", "compat=0.10", v2, "1M");
        foreach (var args in new[] { new[] { "measure", "-O", "qcow2", v2 }, ["measure", "-O", "qcow2", "-f", "raw", v2] })
        {
            Assert.Equal(ExternalTool.QemuImg(args), Diskimg.Ok(args));
        }
    }

    private static string Relevant(string output, string verb, string clusterSize) => verb == "measure" && clusterSize == "2M"
        ? string.Join('\n', output.Split('\n').Where(line => line.Contains("bitmaps", StringComparison.Ordinal)))
        : output;
}
