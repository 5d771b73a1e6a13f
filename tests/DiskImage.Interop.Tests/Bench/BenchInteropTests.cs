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

    [Fact]
    public void Qcow2_write_run_is_read_back_by_qemu_io_and_matches_qemu_img_bench()
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.qcow2");
        var theirs = dir.File("theirs.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", ours, "4M");
        ExternalTool.QemuImg("create", "-f", "qcow2", theirs, "4M");
        string[] arguments = ["bench", "-w", "-f", "qcow2", "--pattern=0xc3", "-c", "40", "-d", "8", "-s", "4k", "-S", "72k", "-o", "1536"];

        ExternalTool.QemuImg([.. arguments, theirs]);
        var ourOutput = Diskimg.Ok([.. arguments, ours]);

        Assert.StartsWith("Sending 40 write requests, 4096 bytes each, 8 in parallel (starting at offset 1536, step size 73728)", ourOutput);
        ExternalTool.QemuImg("check", "-f", "qcow2", ours);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", ours, theirs).ExitCode);
        // Last request: 1536 + 39 * 72 KiB; the 512 bytes before the first one stay zero.
        ExternalTool.QemuIo("-f", "qcow2", "-c", "read -P 0xc3 1536 4k", "-c", "read -P 0xc3 2876928 4k", "-c", "read -P 0 1024 512", ours);
    }

    [Fact]
    public void Qcow2_read_run_completes_on_an_image_with_a_backing_file()
    {
        using var dir = new TempDirectory();
        var backing = dir.File("base.qcow2");
        var overlay = dir.File("overlay.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", backing, "2M");
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x11 0 1M", backing);
        ExternalTool.QemuImg("create", "-f", "qcow2", "-b", backing, "-F", "qcow2", overlay);
        string[] arguments = ["bench", "-f", "qcow2", "-c", "200", "-d", "4", "-s", "16k", overlay];

        Assert.Equal(FirstLine(ExternalTool.QemuImg(arguments)), FirstLine(Diskimg.Ok(arguments)));
    }

    private static string FirstLine(string output) => output.ReplaceLineEndings("\n").Split('\n')[0];
}
