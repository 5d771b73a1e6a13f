using System.Buffers.Binary;
using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Io;

/// <summary>
/// qemu-io's <c>open -o</c> and <c>reopen -o</c> with node options (qcow2's runtime options, node names, drivers, the
/// block layer's booleans), as iotests 039, 103, 133 and 137 use them: each command line runs with qemu-io on one image
/// and with <c>diskimg io</c> on an identical copy; stdout, stderr (program name normalised) and exit codes must match,
/// and where an image is changed, qemu-img must find the same state in both.
/// </summary>
public partial class QemuIoOpenOptionsInteropTests
{
    /// <summary>Command lines (commands split by ';', IMG standing for the image) on a fresh 64 MiB qcow2 image.</summary>
    public static TheoryData<string> Commands => new()
    {
        // open -o beside a path: qcow2's cache options, checked against the image.
        "open -o cache-size=2M,l2-cache-size=512k,refcount-cache-size=512k IMG",
        "open -o cache-size=512k,l2-cache-size=1M IMG",
        "open -o cache-size=512k,refcount-cache-size=1M IMG",
        "open -o l2-cache-entry-size=1000 IMG",
        "open -o l2-cache-entry-size=256k IMG",
        "open -o l2-cache-entry-size=1k IMG;read -P 0 0 64k",
        "open -o cache-size=0 IMG;write -P 7 0 128k;read -P 7 0 128k",
        "open -o cache-size=1M,l2-cache-size=256k IMG;read 0 4k",
        "open -o lazy-refcounts=maybe IMG",
        "open -o overlap-check=sometimes IMG",

        // reopen -o: the same checks, and the image stays as it was after a refusal.
        "reopen -o lazy-refcounts=1;read 0 512",
        "reopen -o cache-size=512k,l2-cache-size=128k,refcount-cache-size=64k",
        "reopen -o l2-cache-entry-size=3k",
        "reopen -o refcount-cache-size=1P",
        "reopen -o cache-clean-interval=-5;write -P 1 0 4k;read -P 1 0 4k",
        "reopen -o cache-clean-interval=30;reopen -o overlap-check=all;reopen -o overlap-check.inactive-l2=off",
        "reopen -o overlap-check=cached,overlap-check.template=none",
        "reopen -o overlap-check.template=maybe",
        "reopen -o overlap-check.refcount-block=2",
        "reopen -o pass-discard-other=yes,pass-discard-request=n;discard 0 64k",
        "reopen -o read-only=sure",
        "reopen -o cache.direct=nope",
        "reopen -o auto-read-only=x",

        // Node names and drivers may be repeated but not changed.
        "reopen -o node-name=a",
        "reopen -o file.node-name=a",
        "open -o node-name=a IMG;reopen -o node-name=a;reopen -o node-name=b",
        "reopen -o driver=raw",
        "reopen -o driver=qcow2;reopen -o file.driver=file;reopen -o file.driver=raw",
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Node_options_are_checked_as_qemu_io_checks_them(string commands)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", theirs, "64M");
        File.Copy(theirs, ours);

        var theirResult = ExternalTool.Run("qemu-io", [.. Arguments(commands, theirs)]);
        var ourResult = Diskimg.Run(["io", .. Arguments(commands, ours)]);

        Assert.Equal(Normalise(theirResult.StdOut, theirs), Normalise(ourResult.StdOut, ours));
        Assert.Equal(Normalise(theirResult.StdErr, theirs), Normalise(ourResult.StdErr, ours));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-q", theirs, ours).ExitCode);
    }

    [Theory]
    [InlineData("off", "on")]
    [InlineData("on", "off")]
    [InlineData("on", "on")]
    public void Reopen_lazy_refcounts_changes_how_a_killed_process_leaves_the_image(string created, string reopened)
    {
        // With lazy refcounts in use the write marks the image dirty and its data cluster's refcount stays in memory;
        // without, the refcount is written and the image stays clean, whatever the header says.
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", $"compat=1.1,lazy_refcounts={created}", theirs, "128M");
        File.Copy(theirs, ours);
        string[] commands = ["-c", $"reopen -o lazy-refcounts={reopened}", "-c", "write -P 0x5a 0 512", "-c", "sigraise 9"];
        ExternalTool.Run("qemu-io", [.. commands, theirs]);
        using (var process = DiskimgProcess.Start(dir.Path, false, ["io", .. commands, ours]))
        {
            Assert.Equal(128 + DiskimgProcess.SIGKILL, process.WaitForExit(TimeSpan.FromMinutes(2)).ExitCode);
        }

        Assert.Equal(IsDirty(theirs), IsDirty(ours));
        var theirCheck = ExternalTool.Run("qemu-img", "check", theirs);
        var ourCheck = ExternalTool.Run("qemu-img", "check", ours);
        Assert.Equal(theirCheck.StdOut, ourCheck.StdOut);
        Assert.Equal(theirCheck.ExitCode, ourCheck.ExitCode);
    }

    [Fact]
    public void Lazy_refcounts_are_refused_on_a_version_2_image_as_by_qemu_io()
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", "-o", "compat=0.10", theirs, "16M");
        File.Copy(theirs, ours);
        foreach (var commands in new[] { $"reopen -o lazy-refcounts=on;write 0 512", "open -o lazy-refcounts=on IMG" })
        {
            var theirResult = ExternalTool.Run("qemu-io", [.. Arguments(commands, theirs)]);
            var ourResult = Diskimg.Run(["io", .. Arguments(commands, ours)]);
            Assert.Equal(Normalise(theirResult.StdOut, theirs), Normalise(ourResult.StdOut, ours));
            Assert.Equal(Normalise(theirResult.StdErr, theirs), Normalise(ourResult.StdErr, ours));
            Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        }
    }

    [Fact]
    public void An_L2_table_the_allocator_would_place_over_the_header_marks_the_image_corrupt_as_in_qemu()
    {
        // The first refcount block's entries for the first clusters zeroed: the next allocation would take cluster 0.
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", theirs, "64M");
        using (var stream = new FileStream(theirs, FileMode.Open, FileAccess.ReadWrite))
        {
            var header = new byte[56];
            stream.ReadExactly(header);
            var table = (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(48));
            var entry = new byte[8];
            stream.Position = table;
            stream.ReadExactly(entry);
            stream.Position = (long)BinaryPrimitives.ReadUInt64BigEndian(entry);
            stream.Write(new byte[8]);
        }

        File.Copy(theirs, ours);
        const string commands = "reopen -o overlap-check=none,lazy-refcounts=maybe;write 64k 64k;write 1M 4k";
        var theirResult = ExternalTool.Run("qemu-io", [.. Arguments(commands, theirs)]);
        var ourResult = Diskimg.Run(["io", .. Arguments(commands, ours)]);
        Assert.Equal(Normalise(theirResult.StdOut, theirs), Normalise(ourResult.StdOut, ours));
        Assert.Equal(Normalise(theirResult.StdErr, theirs), Normalise(ourResult.StdErr, ours));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(ExternalTool.Run("qemu-img", "info", theirs).StdOut.Replace(theirs, "IMG", StringComparison.Ordinal),
            ExternalTool.Run("qemu-img", "info", ours).StdOut.Replace(ours, "IMG", StringComparison.Ordinal));
    }

    /// <summary>qemu-io's arguments: the image named on the command line unless the first command opens it.</summary>
    private static IEnumerable<string> Arguments(string commands, string image)
    {
        var list = commands.Replace("IMG", image, StringComparison.Ordinal).Split(';');
        var arguments = list.SelectMany(c => new[] { "-c", c });
        return list[0].StartsWith("open ", StringComparison.Ordinal) ? arguments : arguments.Append(image);
    }

    private static bool IsDirty(string path)
    {
        var header = new byte[80];
        using (var stream = File.OpenRead(path))
        {
            stream.ReadExactly(header);
        }

        return (BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(72)) & 1) != 0;
    }

    private static string Normalise(string text, string image)
    {
        text = text.Replace(image, "IMG", StringComparison.Ordinal);
        text = TimingLine().Replace(text, "X ops; TIME");
        return ProgramName().Replace(text, "PROG: ");
    }

    [GeneratedRegex(@"[0-9]* ops; [0-9/:. sec]* \([0-9/.inf]* [EPTGMKiBbytes]*/sec and [0-9/.inf]* ops/sec\)")]
    private static partial Regex TimingLine();

    [GeneratedRegex(@"(?m)^(qemu-io|qemu-img|diskimg): ")]
    private static partial Regex ProgramName();
}
