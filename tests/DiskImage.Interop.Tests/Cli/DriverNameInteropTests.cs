using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// qemu-img's driver names given where a format goes, for the drivers the library does not implement (remote
/// protocols, vvfat, filters), parallels, bochs, cloop, dmg, and the protocols it has (nbd, host_device,
/// host_cdrom) named with inputs they cannot all take: every verb does as qemu-img does, in its words and with its
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

        return data;
    }

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
            (expected.ExitCode, QemuToolOutput.Normalise(expected.StdOut, theirs.Path), QemuToolOutput.Normalise(expected.StdErr, theirs.Path), Listing(theirs)),
            (actual.ExitCode, QemuToolOutput.Normalise(actual.StdOut, ours.Path), QemuToolOutput.Normalise(actual.StdErr, ours.Path), Listing(ours)));
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

    private static ExternalTool.Result RunOurs(string directory, string[] arguments) =>
        arguments[0] == "io" ? Diskimg.Run(["io", .. InDirectory(directory, arguments[1..])]) : Diskimg.Run(InDirectory(directory, arguments));

    private static ExternalTool.Result RunTheirs(string directory, string[] arguments) =>
        arguments[0] == "io" ? ExternalTool.Run("qemu-io", InDirectory(directory, arguments[1..])) : ExternalTool.Run("qemu-img", InDirectory(directory, arguments));

    /// <summary>The file names of a command line made absolute in <paramref name="directory"/> (both sides' output then normalises alike).</summary>
    private static string[] InDirectory(string directory, string[] arguments) =>
    [
        .. arguments.Select(a => a switch
        {
            "src.raw" or "missing" or "sub" or "src.qcow2" or "ov.qcow2" or "x.img" or "tgt.raw" => Path.Combine(directory, a),
            ['i', 'f', '=', ..] or ['o', 'f', '=', ..] => a[..3] + Path.Combine(directory, a[3..]),
            _ => a,
        }),
    ];

    private static string Listing(TempDirectory dir) =>
        string.Join(' ', Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
}
