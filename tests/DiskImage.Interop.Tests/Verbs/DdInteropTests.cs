using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Verbs;

public class DdInteropTests
{
    [Theory]
    [InlineData("raw", "-f", "raw")]
    [InlineData("raw", "bs=4k", "count=3", "skip=1")]
    [InlineData("raw", "bs=4k", "count=1000")]
    [InlineData("raw", "bs=4k", "skip=1000")]
    [InlineData("raw", "bs=1.5k")]
    [InlineData("raw", "bs=1000", "count=3")]
    [InlineData("raw", "count=0")]
    [InlineData("raw", "skip=3")]
    [InlineData("raw", "bs=100k", "skip=4")]
    [InlineData("odd", "bs=100", "skip=3")]
    [InlineData("odd")]
    [InlineData("qcow2", "-f", "qcow2", "bs=64k", "skip=7", "count=10")]
    [InlineData("qcow2", "bs=1000", "count=700", "skip=3")]
    public void Output_equals_qemu_img_dd_output(string input, params string[] args)
    {
        using var dir = new TempDirectory();
        var source = input switch
        {
            "odd" => dir.File("odd.raw"),
            "qcow2" => dir.File("in.qcow2"),
            _ => dir.File("in.raw"),
        };
        ExternalTool.QemuImg("create", "-f", "raw", dir.File("in.raw"), "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 5 1000 3000", "-c", "write -P 6 500k 100k", "-c", "write -P 7 1047000 1000", dir.File("in.raw"));
        ExternalTool.QemuImg("convert", "-f", "raw", "-O", "qcow2", dir.File("in.raw"), dir.File("in.qcow2"));
        File.WriteAllBytes(dir.File("odd.raw"), [.. Enumerable.Range(1, 1000).Select(i => (byte)i)]);

        var theirs = ExternalTool.Run("qemu-img", ["dd", .. args, "if=" + source, "of=" + dir.File("theirs.raw")]);
        var ours = Diskimg.Run(["dd", .. args, "if=" + source, "of=" + dir.File("ours.raw")]);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "", StringComparison.Ordinal), ours.StdErr.Replace("diskimg: ", "", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllBytes(dir.File("theirs.raw")), File.ReadAllBytes(dir.File("ours.raw")));
    }

    [Theory]
    [InlineData("bs=0")]
    [InlineData("bs=3G")]
    [InlineData("bs=abc")]
    [InlineData("count=-1")]
    [InlineData("skip=x")]
    [InlineData("foo=1")]
    public void Bad_operands_are_refused_with_qemu_img_words(string operand)
    {
        using var dir = new TempDirectory();
        ExternalTool.QemuImg("create", "-f", "raw", dir.File("in.raw"), "64k");
        string[] args = ["dd", operand, "if=" + dir.File("in.raw"), "of=" + dir.File("out.raw")];
        var theirs = ExternalTool.Run("qemu-img", args);
        var ours = Diskimg.Run(args);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        // Every line qemu-img prints (a size complaint takes two), with only the program name differing.
        Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), ours.StdErr);
    }

    [Fact]
    public void Missing_files_give_one_error_line()
    {
        using var dir = new TempDirectory();
        Assert.Equal("diskimg: Must specify both input and output files", Diskimg.Run("dd", "if=" + dir.File("x")).StdErr.Trim());
        string[] args = ["dd", "if=" + dir.File("missing.raw"), "of=" + dir.File("out.raw")];
        var missing = Diskimg.Run(args);
        var theirs = ExternalTool.Run("qemu-img", args);
        Assert.Equal(theirs.ExitCode, missing.ExitCode);
        Assert.Equal(theirs.StdErr.Trim().Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal), missing.StdErr.Trim());
    }

    [Fact]
    public void A_qcow2_output_reads_back_in_qemu_img_as_the_copied_range()
    {
        using var dir = new TempDirectory();
        ExternalTool.QemuImg("create", "-f", "raw", dir.File("in.raw"), "1M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 5 1000 3000", "-c", "write -P 6 500k 100k", dir.File("in.raw"));
        var ours = Diskimg.Run("dd", "-f", "raw", "-O", "qcow2", "bs=4k", "skip=1", "count=200", "if=" + dir.File("in.raw"), "of=" + dir.File("out.qcow2"));
        Assert.Equal(0, ours.ExitCode);
        ExternalTool.QemuImg("dd", "-f", "raw", "-O", "qcow2", "bs=4k", "skip=1", "count=200", "if=" + dir.File("in.raw"), "of=" + dir.File("theirs.qcow2"));
        using var info = JsonDocument.Parse(ExternalTool.QemuImg("info", "--output=json", dir.File("out.qcow2")));
        Assert.Equal(796 * 1024, info.RootElement.GetProperty("virtual-size").GetInt64());
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", dir.File("out.qcow2")).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", dir.File("out.qcow2"), dir.File("theirs.qcow2")).ExitCode);
    }
}
