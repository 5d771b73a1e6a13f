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

        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdOut, theirs), QemuToolOutput.Normalise(ourResult.StdOut, ours));
        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdErr, theirs), QemuToolOutput.Normalise(ourResult.StdErr, ours));
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
            Assert.Equal(QemuToolOutput.Normalise(theirResult.StdOut, theirs), QemuToolOutput.Normalise(ourResult.StdOut, ours));
            Assert.Equal(QemuToolOutput.Normalise(theirResult.StdErr, theirs), QemuToolOutput.Normalise(ourResult.StdErr, ours));
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
        const string commands = "reopen -o overlap-check=none,lazy-refcounts=maybe;write 64k 64k";
        var theirResult = ExternalTool.Run("qemu-io", [.. Arguments(commands, theirs)]);
        var ourResult = Diskimg.Run(["io", .. Arguments(commands, ours)]);
        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdOut, theirs), QemuToolOutput.Normalise(ourResult.StdOut, ours));
        Assert.Equal(QemuToolOutput.Normalise(theirResult.StdErr, theirs), QemuToolOutput.Normalise(ourResult.StdErr, ours));
        Assert.Equal(theirResult.ExitCode, ourResult.ExitCode);
        Assert.Equal(ExternalTool.Run("qemu-img", "info", theirs).StdOut.Replace(theirs, "IMG", StringComparison.Ordinal),
            ExternalTool.Run("qemu-img", "info", ours).StdOut.Replace(ours, "IMG", StringComparison.Ordinal));
    }

    /// <summary>qemu-io command lines over an overlay (OVL) whose qcow2 backing file holds data at 1 MiB and 3 MiB.</summary>
    public static TheoryData<string[]> OverlayCommands => new()
    {
        // Copy-on-read: -C, open -C and the copy-on-read filter, then what the overlay holds.
        new[] { "-f", "qcow2", "-C", "-c", "read -P 0x11 1M 4k", "-c", "read 2M 8k", "-c", "read -P 0x22 3M 128k", "-c", "map", "OVL" },
        new[] { "-c", "open -C OVL", "-c", "read 0 0", "-c", "read -P 0 100k 1k", "-c", "map" },
        new[] { "-c", "open -o driver=copy-on-read,file.driver=qcow2 OVL", "-c", "read -P 0x22 3M 4k", "-c", "map" },
        new[] { "-f", "qcow2", "-C", "-r", "OVL" },
        new[] { "-c", "open -C -r OVL" },

        // backing.driver overrides the backing format the overlay names (raw here, wrongly).
        new[] { "-c", "open -o backing.driver=qcow2 OVL", "-c", "read -P 0x11 1M 4k", "-c", "reopen -o backing.driver=qcow2", "-c", "reopen -o backing.driver=raw" },

        // The compress filter: every written cluster stored compressed, partial clusters padded with what they held.
        new[] { "-c", "write -P 0x33 10k 150k", "json:{\"driver\": \"compress\", \"file\": {\"driver\": \"qcow2\", \"file\": {\"driver\": \"file\", \"filename\": \"OVL\"}}}" },
    };

    [Theory]
    [MemberData(nameof(OverlayCommands))]
    public void Copy_on_read_compression_and_backing_driver_behave_as_in_qemu_io(string[] arguments)
    {
        using var dir = new TempDirectory();
        var results = new List<(ExternalTool.Result Result, string Overlay)>();
        foreach (var side in new[] { "theirs", "ours" })
        {
            var backing = dir.File($"{side}.base.qcow2");
            var overlay = dir.File($"{side}.qcow2");
            ExternalTool.QemuImg("create", "-f", "qcow2", backing, "4M");
            ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x11 1M 128k", "-c", "write -P 0x22 3M 256k", backing);
            ExternalTool.QemuImg("create", "-f", "qcow2", "-b", backing, "-F", "qcow2", overlay);
            if (arguments.Any(a => a.Contains("backing.driver", StringComparison.Ordinal)))
            {
                ExternalTool.QemuImg("rebase", "-u", "-b", backing, "-F", "raw", overlay);
            }

            var resolved = arguments.Select(a => a.Replace("OVL", overlay, StringComparison.Ordinal).Replace("1M+64k", "1114112", StringComparison.Ordinal)).ToArray();
            results.Add((side == "theirs" ? ExternalTool.Run("qemu-io", resolved) : Diskimg.Run(["io", .. resolved]), overlay));
        }

        var (theirs, theirOverlay) = results[0];
        var (ours, ourOverlay) = results[1];
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut, theirOverlay), QemuToolOutput.Normalise(ours.StdOut, ourOverlay));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, theirOverlay), QemuToolOutput.Normalise(ours.StdErr, ourOverlay));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);

        // The overlays hold the same clusters (allocation and compression alike) and read the same.
        Assert.Equal(ExternalTool.Run("qemu-io", "-f", "qcow2", "-c", "map", theirOverlay).StdOut.Replace(theirOverlay, "OVL", StringComparison.Ordinal),
            ExternalTool.Run("qemu-io", "-f", "qcow2", "-c", "map", ourOverlay).StdOut.Replace(ourOverlay, "OVL", StringComparison.Ordinal));
        Assert.Equal(CompressedClusters(theirOverlay), CompressedClusters(ourOverlay));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ourOverlay).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", "-U", "-f", "qcow2", "-F", "qcow2", theirOverlay, ourOverlay).ExitCode);
    }

    /// <summary>qemu-io command lines on the null driver.</summary>
    public static TheoryData<string[]> NullCommands => new()
    {
        new[] { "-f", "null-co", "-c", "info", "-c", "read 0 512", "-c", "write -P 1 0 512", "-c", "length", "json:{\"driver\": \"null-co\", \"size\": 65536}" },
        new[] { "-c", "open -o driver=null-co,size=4k,read-zeroes=on", "-c", "read -P 0 0 4k", "-c", "length", "-c", "map", "-c", "reopen", "-c", "info" },
        new[] { "--image-opts", "-c", "read -P 0 1M 4k", "-c", "alloc 0 4k", "driver=null-aio,read-zeroes=on" },
    };

    [Theory]
    [MemberData(nameof(NullCommands))]
    public void The_null_driver_behaves_as_in_qemu_io(string[] arguments)
    {
        var theirs = ExternalTool.Run("qemu-io", arguments);
        var ours = Diskimg.Run(["io", .. arguments]);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut, "-"), QemuToolOutput.Normalise(ours.StdOut, "-"));
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr, "-"), QemuToolOutput.Normalise(ours.StdErr, "-"));
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
    }

    [Fact]
    public void Qemu_img_info_names_a_null_node_by_its_options_as_qemu_img_does()
    {
        const string name = "json:{'driver': 'null-co', 'size': 65536, 'read-zeroes': true}";
        var theirs = ExternalTool.Run("qemu-img", "info", name);
        var ours = Diskimg.Run("info", name);
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(ExternalTool.Run("qemu-img", "map", "--output=json", name).StdOut, Diskimg.Run("map", "--output=json", name).StdOut);
    }

    private static string CompressedClusters(string path) =>
        Regex.Match(ExternalTool.Run("qemu-img", "check", "--output=json", path).StdOut, "\"compressed-clusters\": *[0-9]+").Value;

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
}
