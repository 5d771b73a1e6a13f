using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// QEMU's filter drivers named with <c>-f</c> (or as the top node of <c>--image-opts</c> and <c>json:</c> names) over a
/// plain file: blkdebug, preallocate and copy-on-read open as nodes over the file (copy-on-read only writable), the
/// others refuse for want of their own options, each in its driver's words. Every command line runs with qemu-img
/// (or qemu-io) and diskimg in twin directories holding the same files (<see cref="DriverNameFiles"/>); stdout,
/// stderr (program name, directory and timings normalised), exit code and the files left, with their bytes, must be equal.
/// </summary>
public partial class FilterDriverInteropTests(DriverNameFiles files) : IClassFixture<DriverNameFiles>
{
    private static readonly string[] Filters =
        ["blkdebug", "blklogwrites", "blkverify", "compress", "copy-before-write", "copy-on-read", "preallocate", "quorum", "replication", "throttle"];

    /// <summary>Run for every filter, D standing for its name.</summary>
    private static readonly string[][] EveryFilter =
    [
        ["info", "-f", "D", "src.raw"],
        ["info", "-f", "D", "missing"],
        ["info", "-f", "D", "sub"],
        ["map", "-f", "D", "src.raw"],
        ["convert", "-f", "D", "src.raw", "x.img"],
        ["info", "--image-opts", "driver=D,file.filename=src.raw"],
        ["io", "-f", "D", "-c", "read -P 0x5a 0 4k", "src.raw"],
    ];

    /// <summary>Filter-specific lines: those the passing-through filters take, and the filter options' forms.</summary>
    private static readonly string[][] Specific =
    [
        ["info", "-f", "blkdebug", "src.qcow2"],
        ["info", "-f", "blkdebug", "blkdebug::src.qcow2"],
        ["info", "--output=json", "-f", "blkdebug", "src.raw"],
        ["convert", "-O", "raw", "-f", "blkdebug", "src.qcow2", "x.img"],
        ["check", "-f", "blkdebug", "src.raw"],
        ["io", "-f", "blkdebug", "-c", "info", "-c", "map", "src.qcow2"],
        ["info", "--output=json", "-f", "preallocate", "src.raw"],
        ["info", "json:{\"driver\": \"preallocate\", \"file\": {\"driver\": \"file\", \"filename\": \"src.raw\"}}"],
        ["check", "-f", "preallocate", "src.raw"],
        ["compare", "-f", "preallocate", "src.raw", "src.raw"],
        ["resize", "-f", "preallocate", "src.raw", "2M"],
        ["measure", "-f", "preallocate", "src.raw"],
        ["dd", "-f", "preallocate", "if=src.raw", "of=x.img"],
        ["io", "-f", "preallocate", "-c", "info", "-c", "map", "-c", "write -P 7 1020k 4k", "-c", "length", "src.raw"],
        ["resize", "-f", "copy-on-read", "src.raw", "2M"],
        ["compare", "-f", "copy-on-read", "src.raw", "src.raw"],
        ["io", "-r", "-f", "copy-on-read", "-c", "read 0 4k", "src.raw"],
        ["io", "-f", "copy-on-read", "-c", "info", "-c", "write -P 7 0 4k", "-c", "read -P 7 0 4k", "src.raw"],
        ["io", "--image-opts", "-c", "read -P 0x5a 0 4k", "driver=copy-on-read,file.filename=src.raw"],
        ["io", "--image-opts", "-c", "read 0 4k", "driver=compress,file.filename=src.raw"],
        ["io", "-c", "open -o driver=compress,file.filename=src.raw", "-c", "read 0 4k"],
        ["compare", "-f", "throttle", "src.raw", "src.raw"],
        ["create", "-f", "throttle", "x.img", "1M"],
        ["convert", "-O", "preallocate", "src.raw", "x.img"],
    ];

    public static TheoryData<string[]> Cases()
    {
        var data = new TheoryData<string[]>();
        foreach (var filter in Filters)
        {
            foreach (var line in EveryFilter)
            {
                data.Add([.. line.Select(a => a.Replace("D", filter, StringComparison.Ordinal))]);
            }
        }

        foreach (var line in Specific)
        {
            data.Add(line);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_filter_over_a_plain_file_does_as_qemu_does(string[] arguments)
    {
        using var theirs = new TempDirectory();
        using var ours = new TempDirectory();
        files.CopyTo(theirs);
        files.CopyTo(ours);
        var expected = Run(theirs.Path, arguments, qemu: true);
        var actual = Run(ours.Path, arguments, qemu: false);
        Assert.Equal(
            (expected.ExitCode, QemuToolOutput.Normalise(expected.StdOut, theirs.Path), QemuToolOutput.Normalise(expected.StdErr, theirs.Path), Listing(theirs)),
            (actual.ExitCode, QemuToolOutput.Normalise(actual.StdOut, ours.Path), QemuToolOutput.Normalise(actual.StdErr, ours.Path), Listing(ours)));
    }

    private static ExternalTool.Result Run(string directory, string[] arguments, bool qemu)
    {
        string[] absolute = [.. arguments.Select(a => FileName().Replace(a, m => Path.Combine(directory, m.Value)))];
        return absolute[0] == "io"
            ? qemu ? ExternalTool.Run("qemu-io", absolute[1..]) : Diskimg.Run(["io", .. absolute[1..]])
            : qemu ? ExternalTool.Run("qemu-img", absolute) : Diskimg.Run(absolute);
    }

    /// <summary>The fixture's file names wherever they stand in an argument (alone, after <c>if=</c>, inside options and JSON).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"(?<![\w/.])(src\.raw|src\.qcow2|missing|sub|x\.img)(?![\w.])")]
    private static partial System.Text.RegularExpressions.Regex FileName();

    /// <summary>The files left, each with a digest of its bytes, so a write through a filter must land as QEMU's did.</summary>
    private static string Listing(TempDirectory dir) => string.Join(' ', Directory.EnumerateFileSystemEntries(dir.Path)
        .Order(StringComparer.Ordinal)
        .Select(p => Path.GetFileName(p) + (File.Exists(p) ? ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(p)))[..16] : "")));
}
