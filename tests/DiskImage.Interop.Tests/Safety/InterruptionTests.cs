using System.Text;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.IO;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// SIGINT, SIGTERM and SIGKILL at random points of long-running commands, sent to the built diskimg running as a
/// child process: afterwards there is no file under the target's name (or, when the command won the race and had
/// renamed its output into place, a whole one qemu-img accepts), only SIGKILL may leave a temporary file and its name
/// says it is incomplete, and after SIGINT on a terminal the cursor the progress display hid is shown again.
/// </summary>
public sealed class InterruptionTests(LargeSource source) : IClassFixture<LargeSource>
{
    private static readonly byte[] HideCursor = "\e[?25l"u8.ToArray();
    private static readonly byte[] ShowCursor = "\e[?25h"u8.ToArray();

    public static TheoryData<string, int> ConvertCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var kind in new[] { "qcow2", "qcow2-compressed", "raw", "raw-from-qcow2" })
        {
            foreach (var signal in new[] { DiskimgProcess.SIGINT, DiskimgProcess.SIGTERM, DiskimgProcess.SIGKILL })
            {
                data.Add(kind, signal);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ConvertCases))]
    public void Convert_with_progress_interrupted_leaves_no_target(string kind, int signal)
    {
        using var dir = new TempDirectory();
        var format = kind.StartsWith("raw", StringComparison.Ordinal) ? "raw" : "qcow2";

        // From a qcow2 source the worker threads write a new raw target themselves (pwrite, not copy_file_range).
        var fromQcow2 = kind == "raw-from-qcow2";
        var arguments = new List<string> { "convert", "-p", "-f", fromQcow2 ? "qcow2" : "raw", "-O", format };
        if (kind == "qcow2-compressed")
        {
            arguments.Add("-c");
        }

        arguments.AddRange([fromQcow2 ? source.Qcow2Path : source.Path, "target.img"]);
        var onTerminal = signal == DiskimgProcess.SIGINT;
        Interrupt(dir, "target.img", format, signal, onTerminal, [.. arguments]);
    }

    [Theory]
    [InlineData("raw", DiskimgProcess.SIGINT)]
    [InlineData("qcow2", DiskimgProcess.SIGTERM)]
    [InlineData("raw", DiskimgProcess.SIGKILL)]
    public void Dd_interrupted_leaves_no_target(string format, int signal)
    {
        using var dir = new TempDirectory();
        Interrupt(dir, "target.img", format, signal, onTerminal: false, "dd", "-f", "raw", "-O", format, "bs=1M", $"if={source.Path}", "of=target.img");
    }

    [Theory]
    [InlineData(DiskimgProcess.SIGINT)]
    [InlineData(DiskimgProcess.SIGTERM)]
    [InlineData(DiskimgProcess.SIGKILL)]
    public void Iso_create_interrupted_leaves_no_target(int signal)
    {
        using var dir = new TempDirectory();
        var tree = Directory.CreateDirectory(dir.File("tree")).FullName;
        for (var i = 0; i < 3; i++)
        {
            // Hard links: three large files in the tree without copying a byte.
            ExternalTool.Run("ln", source.Path, Path.Combine(tree, $"part{i}.bin")).EnsureSuccess("ln");
        }

        Interrupt(dir, "target.iso", "iso", signal, onTerminal: false, "iso", "create", "-o", "target.iso", "-J", "-r", "tree");
    }

    private void Interrupt(TempDirectory dir, string target, string format, int signal, bool onTerminal, params string[] arguments)
    {
        var sourceLength = new FileInfo(source.Path).Length;
        using var process = DiskimgProcess.Start(dir.Path, onTerminal, arguments);

        // Wait until the copy is under way (the progress display is drawn, or the temporary file exists), then a random while longer.
        var started = DateTime.UtcNow;
        while (!process.HasExited && DateTime.UtcNow - started < TimeSpan.FromSeconds(60)
            && !(onTerminal ? Contains(process.TerminalBytes, HideCursor) : Temporaries(dir, target).Count > 0))
        {
            Thread.Sleep(5);
        }

        Thread.Sleep(Random.Shared.Next(0, 700));
        process.Signal(signal);
        var result = process.WaitForExit(TimeSpan.FromSeconds(120));
        var leftovers = Temporaries(dir, target);

        if (onTerminal)
        {
            // Whether the signal or the end of the copy came first, the cursor the progress display hid is shown again.
            var bytes = process.TerminalBytes;
            var hidden = LastIndexOf(bytes, HideCursor);
            Assert.True(hidden >= 0, "the progress display never hid the cursor; the test did not exercise the terminal: " + Encoding.UTF8.GetString(bytes));
            Assert.True(LastIndexOf(bytes, ShowCursor) > hidden, "the cursor was left hidden: " + Encoding.UTF8.GetString(bytes[hidden..]));
        }

        if (result.ExitCode == 0)
        {
            // The command finished before the signal landed: the target must then be whole.
            Assert.Empty(leftovers);
            AssertWhole(source.Path, dir.File(target), format, sourceLength);
            return;
        }

        if (File.Exists(dir.File(target)))
        {
            // The signal landed after the output was renamed into place, once the handlers were gone, and took its
            // default action: the process died of it, but the output it had already committed must be whole, nothing
            // temporary may remain, and no line may claim the command was interrupted.
            Assert.Equal(128 + signal, result.ExitCode);
            Assert.Empty(leftovers);
            Assert.DoesNotContain("interrupted", result.StdErr, StringComparison.Ordinal);
            AssertWhole(source.Path, dir.File(target), format, sourceLength);
            return;
        }

        if (signal == DiskimgProcess.SIGKILL)
        {
            Assert.Equal(128 + DiskimgProcess.SIGKILL, result.ExitCode);
            Assert.All(Directory.GetFiles(dir.Path).Select(Path.GetFileName), name =>
                Assert.StartsWith($".{target}{PartialOutput.Marker}", name, StringComparison.Ordinal));
            return;
        }

        var name = signal == DiskimgProcess.SIGINT ? "SIGINT" : "SIGTERM";
        Assert.Equal(128 + signal, result.ExitCode);
        Assert.Empty(leftovers);
        Assert.Equal([$"diskimg: interrupted by {name}"], Lines(result.StdErr).Where(l => l.Contains("diskimg:", StringComparison.Ordinal))
            .Select(l => l[l.IndexOf("diskimg:", StringComparison.Ordinal)..]).ToArray());
    }

    private static void AssertWhole(string sourcePath, string target, string format, long sourceLength)
    {
        if (format == "iso")
        {
            ExternalTool.Run("isoinfo", "-d", "-i", target).EnsureSuccess("isoinfo -d");
            Assert.True(new FileInfo(target).Length > 3 * sourceLength);
            return;
        }

        ExternalTool.Run("qemu-img", "compare", "-f", "raw", "-F", format, sourcePath, target).EnsureSuccess("qemu-img compare");
    }

    private static List<string> Temporaries(TempDirectory dir, string target) =>
        [.. Directory.GetFiles(dir.Path, $".{target}{PartialOutput.Marker}*")];

    private static IEnumerable<string> Lines(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0);

    private static bool Contains(byte[] haystack, byte[] needle) => LastIndexOf(haystack, needle) >= 0;

    private static int LastIndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().LastIndexOf(needle);
}
