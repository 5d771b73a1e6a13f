using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// The <c>file</c> protocol driver named as a format: qemu-img creates a plain file with <c>create -f file</c> and
/// <c>convert -O file</c>, and reads it back with <c>info -f file</c>. Each command line is run with qemu-img and
/// diskimg in twin directories; stdout, stderr (program name normalised), exit code and the file made must match.
/// </summary>
public class FileProtocolCreateInteropTests
{
    public static TheoryData<string[]> CommandLines() => new()
    {
        new[] { "create", "-f", "file", "x", "1M" },
        new[] { "create", "-q", "-f", "file", "x", "1M" },
        new[] { "create", "-f", "file", "-o", "preallocation=falloc", "x", "1M" },
        new[] { "create", "-f", "file", "-o", "size=2M", "x" },
        new[] { "convert", "-O", "file", "src.qcow2", "x" },
    };

    [Theory]
    [MemberData(nameof(CommandLines))]
    public void File_driver_creates_a_plain_file_as_qemu_img(string[] arguments)
    {
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        foreach (var dir in new[] { theirs, ours })
        {
            var source = dir.File("src.qcow2");
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", source, "4M");
            ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x33 1M 64k", source);
        }

        string[] In(TempDirectory dir) => [.. arguments.Select(a => a is "x" or "src.qcow2" ? dir.File(a) : a)];
        var expected = ExternalTool.Run("qemu-img", In(theirs));
        var actual = Diskimg.Run(In(ours));
        Assert.Equal(0, expected.ExitCode);
        Assert.Equal(
            (expected.ExitCode, QemuToolOutput.Normalise(expected.StdOut, theirs.Path), QemuToolOutput.Normalise(expected.StdErr, theirs.Path)),
            (actual.ExitCode, QemuToolOutput.Normalise(actual.StdOut, ours.Path), QemuToolOutput.Normalise(actual.StdErr, ours.Path)));
        Assert.Equal(new FileInfo(theirs.File("x")).Length, new FileInfo(ours.File("x")).Length);
        Assert.Equal(File.ReadAllBytes(theirs.File("x")), File.ReadAllBytes(ours.File("x")));

        // Read back as the file driver: qemu-img's info of its file and ours of our file agree.
        Assert.Equal(
            QemuToolOutput.Normalise(ExternalTool.QemuImg("info", "-f", "file", theirs.File("x")), theirs.Path).Split('\n')[..3],
            QemuToolOutput.Normalise(Diskimg.Ok("info", "-f", "file", ours.File("x")), ours.Path).Split('\n')[..3]);
    }
}
