using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// qemu-img's driver names given where a format goes, for the drivers the library does not implement (remote
/// protocols, gluster among them, vvfat, filters), parallels, bochs, cloop, dmg, luks, the null drivers, and the
/// protocols it has (nbd, host_device, host_cdrom) named with inputs they cannot all take: every verb does as qemu-img does, in its words and with its
/// exit code. Each command line runs with qemu-img (or qemu-io) and diskimg in twin directories holding the same files;
/// stdout, stderr (program name and directory normalised), exit code and the files left must be equal.
/// </summary>
public class DriverNameInteropTests(DriverNameFiles files) : IClassFixture<DriverNameFiles>
{
    /// <summary>Command lines with D for the driver name; file names are those of <see cref="DriverNameFiles"/>.</summary>
    private static readonly string[][] CommandLines =
    [
        ["info", "-f", "D", "src.raw"],
        ["info", "-f", "D", "missing"],
        ["info", "-f", "D", "sub"],
        ["info", "-f", "D", "src.qcow2"],
        ["check", "-f", "D", "src.raw"],
        ["map", "-f", "D", "missing"],
        ["compare", "-f", "D", "src.raw", "src.raw"],
        ["resize", "-f", "D", "src.raw", "2M"],
        ["amend", "-f", "D", "-o", "size=2M", "missing"],
        ["convert", "-f", "D", "src.raw", "x.img"],
        ["convert", "-O", "D", "src.raw", "x.img"],
        ["convert", "-n", "-O", "D", "src.raw", "tgt.raw"],
        ["create", "-f", "D", "x.img", "1M"],
        ["create", "-f", "D", "src.raw", "1M"],
        ["create", "-f", "D", "x.img"],
        ["create", "-f", "qcow2", "-b", "src.raw", "-F", "D", "x.img"],
        ["rebase", "-F", "D", "-b", "src.raw", "ov.qcow2"],
        ["measure", "-O", "D", "--size", "1M"],
        ["dd", "-f", "D", "if=src.raw", "of=x.img"],
        ["dd", "-O", "D", "if=src.raw", "of=x.img"],
        ["commit", "-f", "D", "ov.qcow2"],
        ["commit", "-f", "D", "missing"],
        ["bitmap", "-f", "D", "--add", "src.raw", "b0"],
        ["measure", "-f", "D", "src.raw"],
    ];

    /// <summary>
    /// The lines for the filters that refuse a plain file (their required options are missing), the null drivers, luks
    /// and gluster (whose plain absolute path is a volume and path on a glusterd at localhost, which is not there).
    /// </summary>
    private static readonly string[][] ShortLines =
    [
        ["info", "-f", "D", "src.raw"],
        ["info", "-f", "D", "missing"],
        ["info", "-f", "D", "sub"],
        ["convert", "-O", "D", "src.raw", "x.img"],
        ["create", "-f", "D", "x.img", "1M"],
        ["dd", "-O", "D", "if=src.raw", "of=x.img"],
        ["commit", "-f", "D", "ov.qcow2"],
        ["bitmap", "-f", "D", "--add", "src.raw", "b0"],
        ["measure", "-f", "D", "src.raw"],
    ];

    // The curl drivers are left out of read-only opens of existing files: qemu-img prints GLib assertion lines there
    // that belong to the build, not to the driver (see docs/CONFORMANCE.md).
    public static TheoryData<string, string[]> Cases()
    {
        var data = new TheoryData<string, string[]>();
        foreach (var driver in new[] { "iscsi", "iser", "nvme", "nfs", "rbd", "ssh", "vvfat", "bochs", "cloop", "parallels", "dmg", "nbd", "host_device", "host_cdrom" })
        {
            foreach (var line in CommandLines)
            {
                data.Add(driver, [.. line.Select(a => a == "D" ? driver : a)]);
            }
        }

        foreach (var driver in new[] { "http", "https", "ftp", "ftps" })
        {
            foreach (var line in CommandLines.Where(l => l[0] is "resize" or "commit" or "amend" or "bitmap" || l.Contains("-O") || l.Contains("missing") && l[0] is not ("info" or "map" or "io" or "compare")))
            {
                data.Add(driver, [.. line.Select(a => a == "D" ? driver : a)]);
            }
        }

        // copy-on-read refuses only a read-only node; opened for writing it goes on (a deliberate difference).
        foreach (var driver in new[] { "blklogwrites", "blkverify", "compress", "copy-before-write", "quorum", "replication", "throttle", "copy-on-read", "null-co", "null-aio", "luks", "gluster" })
        {
            foreach (var line in ShortLines.Where(l => driver != "copy-on-read" || l[0] is not ("commit" or "bitmap")))
            {
                data.Add(driver, [.. line.Select(a => a == "D" ? driver : a)]);
            }
        }

        return data;
    }

    /// <summary>
    /// gluster names (reaching no server: localhost and 127.0.0.1 refuse at once, a .invalid name does not resolve, a
    /// socket is missing) and names it refuses to read; the device drivers on names that are no device; host_cdrom on
    /// a device that holds no disc.
    /// </summary>
    [Theory]
    [InlineData("info", "-f", "gluster", "gluster://localhost/vol/dir/a.img")]
    [InlineData("info", "-f", "gluster", "gluster+tcp://127.0.0.1:1/vol/a.img")]
    [InlineData("info", "-f", "gluster", "gluster://localhost:0/vol/a.img")]
    [InlineData("info", "-f", "gluster", "gluster://[::1]//vol//a%20b.img")]
    [InlineData("info", "-f", "gluster", "gluster://nosuchhost.invalid/vol/a.img")]
    [InlineData("info", "-f", "gluster", "gluster+unix:///vol/a.img?socket=/nonexistent/glusterd.socket")]
    [InlineData("info", "-f", "gluster", "gluster+rdma://localhost/vol/a.img")]
    [InlineData("info", "-f", "gluster", "gluster+unix:///vol/a.img?socket")]
    [InlineData("info", "-f", "gluster", "/dev/null")]
    [InlineData("info", "-f", "gluster", "gluster://localhost:65536/vol/a.img")]
    [InlineData("info", "-f", "gluster", "gluster+unix://host/vol/a.img?socket=/s")]
    [InlineData("info", "-f", "gluster", "gluster://localhost/vol/a.img?socket=/s")]
    [InlineData("info", "-f", "gluster", "gluster://localhost/vol")]
    [InlineData("info", "-f", "gluster", "gluster://localhost/v.x/a.img")]
    [InlineData("info", "-f", "gluster", "gluster+udp://localhost/vol/a.img")]
    [InlineData("info", "-f", "gluster", "vol:a.img")]
    [InlineData("create", "-f", "gluster", "gluster://localhost/vol/a.img", "1M")]
    [InlineData("convert", "-O", "gluster", "src.raw", "gluster+tcp://localhost/vol/a.img")]
    [InlineData("dd", "-O", "gluster", "if=src.raw", "of=gluster://localhost/vol/a.img")]
    [InlineData("io", "-f", "gluster", "src.raw")]
    [InlineData("io", "-f", "gluster", "/dev/null")]
    [InlineData("io", "-f", "gluster", "-c", "read 0 512", "gluster+rdma://localhost/vol/a.img")]
    [InlineData("io", "-f", "gluster", "gluster+unix:///vol/a.img?socket=/nonexistent/glusterd.socket")]
    [InlineData("info", "-f", "host_device", "nbd://localhost:1/export")]
    [InlineData("check", "-f", "host_cdrom", "nbd+unix:///export?socket=/nonexistent.sock")]
    [InlineData("io", "-f", "host_device", "nbd:localhost:1")]
    [InlineData("create", "-f", "host_cdrom", "/dev/null", "1M")]
    [InlineData("create", "-f", "host_cdrom", "/dev/full", "0")]
    [InlineData("convert", "-O", "host_cdrom", "src.raw", "/dev/null")]
    [InlineData("dd", "-O", "host_cdrom", "if=src.raw", "of=/dev/null")]
    [InlineData("dd", "-O", "host_device", "if=src.raw", "of=/dev/null")]
    [InlineData("dd", "-O", "bogus", "if=missing", "of=x.img")]
    [InlineData("dd", "-O", "bogus", "if=src.raw", "of=x.img")]
    public void A_remote_or_device_name_fails_as_qemu_fails(params string[] arguments) =>
        A_driver_name_fails_as_qemu_img_fails(arguments[2], arguments);

    /// <summary>
    /// A directory opened for writing (commit under every format, and the writing verbs that probe), which QEMU's
    /// open(2) refuses before any driver looks at it; protocol prefixes without <c>-f</c>, and on new images; vdi and
    /// vhdx named for files of other formats, empty or short.
    /// </summary>
    public static TheoryData<string, string[]> DirectoryAndForeignFileCases()
    {
        var data = new TheoryData<string, string[]>();
        foreach (var format in new[] { "raw", "qcow2", "qcow", "vmdk", "vdi", "vhdx", "vpc", "qed", "parallels", "dmg", "luks", "file", "host_device" })
        {
            data.Add(format, ["commit", "-f", format, "sub"]);
        }

        foreach (var line in new[]
        {
            ["commit", "sub"], ["commit", "file:sub"], ["commit", "json:{\"file\":{\"driver\":\"file\",\"filename\":\"sub\"}}"],
            ["resize", "sub", "2M"], ["rebase", "-u", "-b", "", "sub"], ["snapshot", "-c", "s0", "sub"], ["bitmap", "--add", "sub", "b0"],
            ["check", "-r", "all", "sub"], new[] { "io", "-c", "read 0 512", "sub" },
        })
        {
            data.Add("probed", line);
        }

        // Protocol prefixes without -f: gluster's pick its driver, one no driver answers to is refused, and the
        // ones read before (ssh, nbd) still connect.
        foreach (var name in new[] { "gluster://localhost/vol/a.img", "gluster+unix:///vol/a.img?socket=/nonexistent/glusterd.socket", "sheepdog://x/y", "quorum:x", "ssh://localhost:1/a.img", "nbd://localhost:1/x" })
        {
            data.Add("prefix", ["info", name]);
            data.Add("prefix", ["convert", name, "x.img"]);
            data.Add("prefix", ["io", "-c", "read 0 512", name]);
        }

        // The null drivers' and host device drivers' prefixes open their node, the format probed or named over it;
        // the drivers without creation refuse a new image before formatting it.
        foreach (var name in new[] { "null-co://", "null-aio://", "null-co://x", "host_device:/dev/null", "host_device:src.raw", "host_device:missing", "host_cdrom:src.raw" })
        {
            data.Add("prefix", ["info", name]);
            data.Add("prefix", ["convert", name, "x.img"]);
            data.Add("prefix", ["io", "-c", "read 0 512", name]);
            data.Add("prefix", ["check", name]);
        }

        // blkverify: the raw copy and the image under test, compared on every read (a difference fails the command).
        foreach (var name in new[] { "blkverify:src.raw:src.raw", "blkverify:a:b", "blkverify:x", "blkverify:src.raw:missing" })
        {
            data.Add("prefix", ["info", name]);
            data.Add("prefix", ["convert", name, "x.img"]);
            data.Add("prefix", ["check", name]);
        }

        data.Add("prefix", ["map", "--output=json", "blkverify:src.raw:src.raw"]);

        // A difference ends the command with the driver's bare line and status 1, wherever the read comes from; human
        // map names the raw copy, whose block status the node reports.
        foreach (var name in new[] { "blkverify:src.raw:tgt.raw", "blkverify:tgt.raw:src.raw" })
        {
            data.Add("prefix", ["info", name]);
            data.Add("prefix", ["map", name]);
            data.Add("prefix", ["convert", name, "x.img"]);
            data.Add("prefix", ["io", "-c", "read 0 512", name]);
        }

        data.Add("prefix", ["compare", "blkverify:late.raw:tgt.raw", "tgt.raw"]);
        data.Add("prefix", ["compare", "-f", "raw", "tgt.raw", "blkverify:late.raw:tgt.raw"]);
        data.Add("prefix", ["map", "blkverify:src.raw:src.raw"]);
        foreach (var name in new[] { "blkverify::src.raw", "blkverify:src.raw:", "blkverify:src.raw::", "blkverify:src.raw:foo:bar", "blkverify:src.raw:file:src.raw" })
        {
            data.Add("prefix", ["info", name]);
        }

        data.Add("prefix", ["map", "-f", "blkverify", "blkverify:src.raw:src.raw"]);
        data.Add("prefix", ["io", "-c", "read 0 512", "-c", "read -v 300k 4k", "-c", "read 0 512", "blkverify:late.raw:tgt.raw"]);
        data.Add("prefix", ["io", "-f", "blkverify", "-c", "read 290k 20k", "blkverify:late.raw:tgt.raw"]);
        data.Add("prefix", ["io", "-c", "read 0 512", "blkverify:src.raw:src.raw"]);
        data.Add("prefix", ["io", "-f", "blkverify", "-c", "write -P 3 0 512", "blkverify:src.raw:src.raw"]);
        data.Add("prefix", ["info", "-f", "blkverify", "blkverify:src.raw:src.raw"]);
        data.Add("prefix", ["convert", "-f", "blkverify", "blkverify:src.raw:src.raw", "x.img"]);
        data.Add("prefix", ["info", "-f", "host_device", "host_device:/dev/null"]);
        data.Add("prefix", ["info", "-f", "host_cdrom", "host_device:src.raw"]);
        data.Add("prefix", ["info", "host_cdrom:/dev/null"]);
        data.Add("prefix", ["convert", "host_cdrom:/dev/null", "x.img"]);
        data.Add("prefix", ["convert", "-f", "host_cdrom", "/dev/null", "x.img"]);
        data.Add("prefix", ["map", "null-aio://"]);
        data.Add("prefix", ["info", "-f", "qcow2", "null-co://"]);
        data.Add("prefix", ["info", "-f", "qcow2", "host_device:/dev/null"]);
        data.Add("prefix", ["convert", "-n", "-O", "raw", "src.raw", "null-co://"]);
        data.Add("prefix", ["io", "-c", "read 0 512", "file:src.raw"]);
        foreach (var target in new[] { "null-co://", "null-aio://", "blkdebug::x.img", "blkverify:src.raw:x.img", "fat:sub" })
        {
            data.Add("target", ["create", "-f", "qcow2", target, "1M"]);
            data.Add("target", ["convert", "-O", "raw", "src.raw", target]);
            data.Add("target", ["dd", "-O", "raw", "if=src.raw", "of=" + target]);
        }

        // -f wins over a json: name's host protocol driver, so the format named has no file node under it.
        foreach (var json in new[] { "json:{\"driver\":\"file\",\"filename\":\"x.img\"}", "json:{\"driver\":\"file\",\"filename\":\"src.qcow2\"}" })
        {
            data.Add("target", ["convert", "-n", "-O", "raw", "src.raw", json]);
            data.Add("target", ["convert", "-n", "-O", "file", "src.raw", json]);
            data.Add("target", ["info", "-f", "qcow2", json]);
        }

        data.Add("prefix", ["info", "-f", "raw", "sheepdog://x/y"]);
        data.Add("prefix", ["info", "-f", "qcow2", "gluster://localhost/vol/a.img"]);
        data.Add("prefix", ["convert", "-f", "raw", "gluster+unix:///vol/a.img?socket=/nonexistent/glusterd.socket", "x.img"]);
        data.Add("prefix", ["io", "-f", "vmdk", "-c", "read 0 512", "gluster://localhost/vol/a.img"]);

        // A new image's name with a prefix no protocol driver answers to, json: among them, is refused before anything is made.
        foreach (var target in new[] { "json:{\"driver\":\"file\",\"filename\":\"x.img\"}", "sheepdog://x/y", "json:" })
        {
            data.Add("target", ["create", "-f", "qcow2", target, "1M"]);
            data.Add("target", ["create", "-f", "nbd", target, "1M"]);
            data.Add("target", ["convert", "-O", "qcow2", "src.raw", target]);
            if (!target.Contains("x.img", StringComparison.Ordinal))
            {
                data.Add("target", ["convert", "-n", "-O", "raw", "src.raw", target]);
            }

            data.Add("target", ["dd", "-O", "raw", "if=src.raw", "of=" + target]);
        }

        foreach (var format in new[] { "vdi", "vhdx" })
        {
            foreach (var file in new[] { "src.raw", "src.qcow2", "empty", "short" })
            {
                data.Add(format, ["info", "-f", format, file]);
                data.Add(format, ["check", "-f", format, file]);
                data.Add(format, ["convert", "-f", format, file, "x.img"]);
                data.Add(format, ["io", "-f", format, "-c", "read 0 512", file]);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DirectoryAndForeignFileCases))]
    public void A_directory_a_protocol_prefix_or_a_foreign_file_fails_as_qemu_fails(string driver, string[] arguments) =>
        A_driver_name_fails_as_qemu_img_fails(driver, arguments);

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_driver_name_fails_as_qemu_img_fails(string driver, string[] arguments)
    {
        Assert.False(string.IsNullOrEmpty(driver));
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        files.CopyTo(theirs);
        files.CopyTo(ours);
        var expected = RunTheirs(theirs.Path, arguments);
        var actual = RunOurs(ours.Path, arguments);
        Assert.Equal(
            (expected.ExitCode, Normalise(expected.StdOut, theirs.Path), Normalise(expected.StdErr, theirs.Path), Listing(theirs)),
            (actual.ExitCode, Normalise(actual.StdOut, ours.Path), Normalise(actual.StdErr, ours.Path), Listing(ours)));
    }

    /// <summary>The tool's output with the directory normalised, also where gluster splits it into a volume and a path.</summary>
    private static string Normalise(string text, string directory)
    {
        var afterVolume = directory.IndexOf('/', 1);
        text = QemuToolOutput.Normalise(text, directory);
        return afterVolume < 0 ? text : text.Replace(directory[(afterVolume + 1)..], "DIR", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-o", "encrypt.format=luks,encrypt.key-secret=sec0", "qcow2")]
    [InlineData("-o", "encrypt.format=aes", "qcow2")]
    [InlineData("-o", "encryption=on", "qcow")]
    [InlineData("-o", "preallocation=metadata", "qcow2")]
    public void Convert_c_refuses_an_encrypted_or_preallocated_target_as_qemu_img(string flag, string options, string format)
    {
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        files.CopyTo(theirs);
        files.CopyTo(ours);
        string[] arguments = ["convert", "-c", "--object", "secret,id=sec0,data=abc", "-O", format, flag, options, "src.raw", "x.img"];
        var expected = RunTheirs(theirs.Path, arguments);
        var actual = RunOurs(ours.Path, arguments);
        Assert.Equal(1, expected.ExitCode);
        Assert.Equal(
            (expected.ExitCode, expected.StdOut, QemuToolOutput.Normalise(expected.StdErr), Listing(theirs)),
            (actual.ExitCode, actual.StdOut, QemuToolOutput.Normalise(actual.StdErr), Listing(ours)));
    }

    /// <summary>
    /// A blkverify difference found while convert copies: the same bare line and status as qemu-img, which ends the
    /// process and leaves its half-written target behind; diskimg leaves none (new outputs are whole or absent).
    /// </summary>
    [Fact]
    public void Convert_stopped_by_a_blkverify_difference_prints_qemus_line_and_leaves_no_partial_target()
    {
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        files.CopyTo(theirs);
        files.CopyTo(ours);
        string[] arguments = ["convert", "-O", "qcow2", "blkverify:late.raw:tgt.raw", "x.img"];
        var expected = RunTheirs(theirs.Path, arguments);
        var actual = RunOurs(ours.Path, arguments);
        Assert.StartsWith("blkverify: read offset=", expected.StdErr, StringComparison.Ordinal);
        Assert.Contains("contents mismatch at offset 307200", expected.StdErr, StringComparison.Ordinal);
        Assert.Equal(
            (expected.ExitCode, Normalise(expected.StdOut, theirs.Path), Normalise(expected.StdErr, theirs.Path)),
            (actual.ExitCode, Normalise(actual.StdOut, ours.Path), Normalise(actual.StdErr, ours.Path)));
        Assert.True(File.Exists(theirs.File("x.img")));
        Assert.False(File.Exists(ours.File("x.img")));
    }

    /// <summary>
    /// A file whose name has a colon, named relatively with <c>file:</c>: qemu-io's probed-raw warning names the node's
    /// file (<c>./a:b</c>), not the name given. Both run as processes in the directory holding the file.
    /// </summary>
    [Fact]
    public void Io_names_a_file_prefixed_name_by_its_file_in_the_probed_raw_warning()
    {
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        foreach (var dir in new[] { theirs, ours })
        {
            ExternalTool.RunIn(dir.Path, "qemu-img", "create", "-q", "-f", "raw", "./a:b", "64k").EnsureSuccess("qemu-img create");
        }

        string[] arguments = ["io", "-c", "write -P 7 0 512", "file:a:b"];
        var expected = ExternalTool.RunIn(theirs.Path, "qemu-io", arguments[1..]);
        using var process = DiskimgProcess.Start(ours.Path, onTerminal: false, arguments);
        var actual = process.WaitForExit(TimeSpan.FromSeconds(60));
        Assert.Contains("'./a:b'", expected.StdErr, StringComparison.Ordinal);
        Assert.Equal(
            (expected.ExitCode, QemuToolOutput.Normalise(expected.StdOut), QemuToolOutput.Normalise(expected.StdErr)),
            (actual.ExitCode, QemuToolOutput.Normalise(actual.StdOut), QemuToolOutput.Normalise(actual.StdErr)));
    }

    private static ExternalTool.Result RunOurs(string directory, string[] arguments) =>
        arguments[0] == "io" ? Diskimg.Run(["io", .. InDirectory(directory, arguments[1..])]) : Diskimg.Run(InDirectory(directory, arguments));

    private static ExternalTool.Result RunTheirs(string directory, string[] arguments) =>
        arguments[0] == "io" ? ExternalTool.Run("qemu-io", InDirectory(directory, arguments[1..])) : ExternalTool.Run("qemu-img", InDirectory(directory, arguments));

    /// <summary>The file names of a command line made absolute in <paramref name="directory"/> (both sides' output then normalises alike).</summary>
    private static string[] InDirectory(string directory, string[] arguments) =>
    [
        .. arguments.Select(a => a switch
        {
            _ when IsFile(a) => Path.Combine(directory, a),
            ['i', 'f', '=', ..] or ['o', 'f', '=', ..] when IsFile(a[3..]) => a[..3] + Path.Combine(directory, a[3..]),
            _ when HostPrefix(a) is { } prefix && IsFile(a[prefix.Length..]) => prefix + Path.Combine(directory, a[prefix.Length..]),
            ['b', 'l', 'k', 'd', 'e', 'b', 'u', 'g', ':', ':', ..] when IsFile(a[10..]) => "blkdebug::" + Path.Combine(directory, a[10..]),
            ['b', 'l', 'k', 'v', 'e', 'r', 'i', 'f', 'y', ':', ..] => "blkverify:" + string.Join(':', a[10..].Split(':').Select(f => IsFile(f) ? Path.Combine(directory, f) : f)),
            ['f', 'a', 't', ':', ..] when IsFile(a[4..]) => "fat:" + Path.Combine(directory, a[4..]),
            _ when a.Contains("json:", StringComparison.Ordinal) => s_fileNames.Aggregate(a, (json, name) => json.Replace($"\"{name}\"", $"\"{Path.Combine(directory, name)}\"", StringComparison.Ordinal)),
            _ => a,
        }),
    ];

    private static readonly string[] s_fileNames = ["src.raw", "missing", "sub", "empty", "short", "src.qcow2", "ov.qcow2", "x.img", "tgt.raw", "late.raw"];

    private static bool IsFile(string name) => s_fileNames.Contains(name);

    /// <summary>The host protocol prefix a name starts with (<c>file:</c>, <c>host_device:</c>, <c>host_cdrom:</c>), or null.</summary>
    private static string? HostPrefix(string name) =>
        new[] { "file:", "host_device:", "host_cdrom:" }.FirstOrDefault(p => name.StartsWith(p, StringComparison.Ordinal));

    private static string Listing(TempDirectory dir) =>
        string.Join(' ', Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
}
