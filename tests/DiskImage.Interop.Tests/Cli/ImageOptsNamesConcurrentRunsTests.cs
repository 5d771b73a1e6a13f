using DiskImage.Cli;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// Two command lines run in one process at the same time (a library or test host running the CLI on two threads)
/// each name the <c>--image-opts</c> list they typed, or the plain name they gave, never the other's.
/// </summary>
public class ImageOptsNamesConcurrentRunsTests
{
    [Fact]
    public void Concurrent_runs_name_their_own_option_lists()
    {
        using var dir = new TempDirectory();
        var image = dir.File("disk.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", image, "1M");

        // The same file three ways; each fails the same way, and qemu-img names it as each typed it.
        string[][] commandLines =
        [
            ["info", "--image-opts", $"driver=qcow2,file.filename={image}"],
            ["info", "--image-opts", $"file.filename={image},driver=qcow2"],
            ["info", "-f", "qcow2", image],
        ];
        var expected = commandLines.Select(line =>
        {
            var theirs = ExternalTool.Run("qemu-img", line);
            Assert.NotEqual(0, theirs.ExitCode);
            return (theirs.ExitCode, StdErr: theirs.StdErr.Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal));
        }).ToArray();
        Assert.Equal(3, expected.Select(e => e.StdErr).Distinct().Count());

        // Many rounds started together, so one run's start falls between another's reading of its names and its error.
        for (var round = 0; round < 100; round++)
        {
            using var start = new Barrier(commandLines.Length);
            var results = new (int ExitCode, string StdErr)[commandLines.Length];
            var threads = commandLines.Select((line, i) => new Thread(() =>
            {
                using var stdout = new StringWriter();
                using var stderr = new StringWriter();
                start.SignalAndWait();
                var exitCode = DiskImageCli.Run(line, stdout, stderr);
                results[i] = (exitCode, stderr.ToString());
            })).ToArray();
            foreach (var thread in threads)
            {
                thread.Start();
            }

            foreach (var thread in threads)
            {
                thread.Join();
            }

            for (var i = 0; i < results.Length; i++)
            {
                Assert.Equal(expected[i], results[i]);
            }
        }
    }
}
