using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Bench;

public class BenchInteropTests
{
    [Fact]
    public void Raw_write_run_leaves_the_same_image_as_qemu_img_bench_and_prints_its_header()
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.raw");
        var theirs = dir.File("theirs.raw");
        ExternalTool.QemuImg("create", "-f", "raw", ours, "1M");
        ExternalTool.QemuImg("create", "-f", "raw", theirs, "1M");
        string[] arguments = ["bench", "-w", "-f", "raw", "--pattern=0x5a", "-c", "20", "-d", "4", "-s", "4k", "-S", "12k", "-o", "512"];

        var theirOutput = ExternalTool.QemuImg([.. arguments, theirs]);
        var ourOutput = Diskimg.Ok([.. arguments, ours]);

        Assert.Equal(FirstLine(theirOutput), FirstLine(ourOutput));
        Assert.Matches(@"^Run completed in \d+\.\d{3} seconds\.$", ourOutput.ReplaceLineEndings("\n").Split('\n')[1]);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", "raw", ours, theirs).ExitCode);
        ExternalTool.QemuIo("-f", "raw", "-c", "read -P 0x5a 512 4k", "-c", "read -P 0x5a 233984 4k", "-c", "read -P 0 4608 8k", ours);
    }

    [Fact]
    public void Raw_read_run_prints_the_same_header_as_qemu_img_bench()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-f", "raw", image, "2M");
        string[] arguments = ["bench", "-f", "raw", "-c", "300", "-s", "64k", "-d", "2", image];

        Assert.Equal(FirstLine(ExternalTool.QemuImg(arguments)), FirstLine(Diskimg.Ok(arguments)));
    }

    private static string FirstLine(string output) => output.ReplaceLineEndings("\n").Split('\n')[0];
}
