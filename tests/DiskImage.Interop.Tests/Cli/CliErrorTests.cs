using DiskImage.Interop.Tests.Conversion;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>Bad input of every kind gives exactly one line on stderr and exit code 1, never a stack trace.</summary>
public class CliErrorTests
{
    [Theory]
    [InlineData("info {missing}")]
    [InlineData("info -f qcow2 {raw}")]
    [InlineData("info -f qcow2 {garbage}")]
    [InlineData("info -f qcow2 {truncated}")]
    [InlineData("info {truncated}")]
    [InlineData("info -f nosuchformat {raw}")]
    [InlineData("info --output=xml {raw}")]
    [InlineData("convert -f qcow2 -O raw {raw} {target}")]
    [InlineData("convert -O raw {truncated} {target}")]
    [InlineData("convert -O raw {missing} {target}")]
    [InlineData("convert -O nosuchformat {raw} {target}")]
    [InlineData("convert --target-is-zero -O raw {raw} {target}")]
    [InlineData("convert -c -O raw {raw} {target}")]
    [InlineData("convert -S 100 -O raw {raw} {target}")]
    [InlineData("convert -S abc -O raw {raw} {target}")]
    [InlineData("convert -m 0 -O raw {raw} {target}")]
    [InlineData("convert -m 17 -O raw {raw} {target}")]
    [InlineData("convert -m x -O raw {raw} {target}")]
    [InlineData("convert -O raw {raw}")]
    [InlineData("convert -o foo=bar -O raw {raw} {target}")]
    [InlineData("create -f raw {target} abc")]
    [InlineData("create -f raw {target} -- -5")]
    [InlineData("create -f raw {target}")]
    [InlineData("create -f nosuchformat {target} 1M")]
    [InlineData("create -f raw -o foo=bar {target} 1M")]
    [InlineData("create -f raw -b {raw} -F raw {target} 1M")]
    [InlineData("create -f qcow2 -b {raw} {target} 1M")]
    [InlineData("create -f qcow2 -b {missing} -F raw {target} 1M")]
    [InlineData("nosuchverb")]
    [InlineData("")]
    [InlineData("info --no-such-option {raw}")]
    public void Bad_input_gives_qemu_img_lines_and_exit_1(string commandLine)
    {
        using var dir = new TempDirectory();
        var raw = dir.File("plain.raw");
        File.WriteAllBytes(raw, new byte[1 << 20]);
        var garbage = dir.File("garbage.img");
        File.WriteAllBytes(garbage, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7919 >> 3))]);
        var qcow2 = dir.File("good.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", qcow2, "1M");
        var truncated = dir.File("truncated.qcow2");
        File.WriteAllBytes(truncated, File.ReadAllBytes(qcow2)[..100]);
        var target = dir.File("target.img");
        var arguments = commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(a => a.Replace("{missing}", dir.File("missing.img"), StringComparison.Ordinal)
                .Replace("{raw}", raw, StringComparison.Ordinal)
                .Replace("{garbage}", garbage, StringComparison.Ordinal)
                .Replace("{truncated}", truncated, StringComparison.Ordinal)
                .Replace("{target}", target, StringComparison.Ordinal))
            .ToArray();

        var theirs = ExternalTool.Run("qemu-img", arguments);
        File.Delete(target);
        var result = Diskimg.Run(arguments);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(theirs.ExitCode, result.ExitCode);
        // qemu-img's lines (a hint such as "Try 'qemu-img --help'" included), only the program name differing.
        Assert.Equal(theirs.StdErr.Replace("qemu-img", "diskimg", StringComparison.Ordinal), result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr, StringComparison.Ordinal);
        Assert.Equal("", result.StdOut);
        if (commandLine.StartsWith("convert", StringComparison.Ordinal))
        {
            // A failed validation or a source that would not open never creates the target.
            Assert.False(File.Exists(target), "the target was created although convert failed before copying");
        }
    }

    [Fact]
    public void Convert_errors_use_qemu_img_wording()
    {
        using var dir = new TempDirectory();
        var (source, _) = ConvertSources.Make(dir, "raw-holes");
        var target = dir.File("t.raw");

        Assert.Equal("diskimg: --target-is-zero requires use of -n flag\n", Diskimg.Run("convert", "--target-is-zero", "-O", "raw", source, target).StdErr);
        Assert.Equal("diskimg: Compression not supported for this file format\n", Diskimg.Run("convert", "-c", "-O", "raw", source, target).StdErr);
        Assert.Equal("diskimg: Invalid number of coroutines. Allowed number of coroutines is between 1 and 16\n", Diskimg.Run("convert", "-m", "17", source, target).StdErr);
        File.WriteAllBytes(target, new byte[4096]);
        Assert.Equal("diskimg: output file is smaller than input file\n", Diskimg.Run("convert", "-n", "-O", "raw", source, target).StdErr);
    }

    [Fact]
    public void Create_errors_name_the_file_as_qemu_img_does()
    {
        using var dir = new TempDirectory();
        var target = dir.File("t.qcow2");

        // A backing file that cannot be opened and no backing format: qemu-img says why it could not open it.
        Assert.Equal(
            $"diskimg: {target}: Could not open '{dir.File("x.qcow2")}': No such file or directory\nCould not open backing image.\n",
            Diskimg.Run("create", "-f", "qcow2", "-b", "x.qcow2", target, "1M").StdErr);
        Assert.Equal($"diskimg: {target}: Image creation needs a size parameter\n", Diskimg.Run("create", "-f", "raw", target).StdErr);
        Assert.False(File.Exists(target));
    }
}
