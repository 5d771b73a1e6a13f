using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Vvfat;

/// <summary>
/// A host directory as QEMU's vvfat driver shows it (<c>fat:[floppy:][12|16|32:]DIR</c>), read-only: the disk
/// qemu-img converts out of it must be the same bytes (MBR, boot sector, FATs, directory entries with long and 8.3
/// names, times, file clusters), and info, map and qemu-io's reads print the same. Both tools read the same
/// directory, which neither changes. Refusals (a missing directory, <c>rw:</c>, a root with too many entries, a file
/// over 2 GB, a tree larger than the disk) are compared too.
/// </summary>
public sealed class VvfatInteropTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public VvfatInteropTests()
    {
        var tree = _dir.File("tree");
        var random = new Random(42);
        Directory.CreateDirectory(Path.Combine(tree, "deep", "a", "b", "c"));
        Directory.CreateDirectory(Path.Combine(tree, "empty"));
        Write(Path.Combine(tree, "exact.bin"), 8192, random);
        Write(Path.Combine(tree, "multi part.dat"), 30000, random);
        Write(Path.Combine(tree, "deep", "a", "b", "c", "f.bin"), 20000, random);
        File.WriteAllText(Path.Combine(tree, "tiny"), "x");
        File.WriteAllText(Path.Combine(tree, "zero"), "");
        foreach (var name in new[]
        {
            "Long File Name With Spaces.txt", "long file name with spaces.txt2", "\u00c4\u00d6\u00dc unicode \u00e9.txt", ".hidden", "a.b.c.d",
            "UPPER.TXT", "lower.txt", "verylongname1.txt", "verylongname2.txt", "x+y=z;q.[1]", "\u0131.txt",
        })
        {
            File.WriteAllText(Path.Combine(tree, name), name + "\n");
        }
    }

    public void Dispose() => _dir.Dispose();

    private static void Write(string path, int length, Random random)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
    }

    [Theory]
    [InlineData("fat:", null)]
    [InlineData("fat:floppy:", null)]
    [InlineData("fat:12:", null)]
    [InlineData("fat:32:", null)]
    [InlineData("fat:floppy:16:", null)]
    [InlineData("fat:", "vvfat")]
    public void Convert_gives_qemu_img_s_bytes_and_info_and_map_match(string prefix, string? format)
    {
        var name = prefix + _dir.File("tree");
        string[] formatArgs = format is null ? [] : ["-f", format];
        var theirs = _dir.File("theirs.raw");
        var ours = _dir.File("ours.raw");
        var expected = ExternalTool.Run("qemu-img", ["convert", .. formatArgs, "-O", "raw", name, theirs]);
        var actual = Diskimg.Run(["convert", .. formatArgs, "-O", "raw", name, ours]);
        Assert.Equal(0, expected.ExitCode);
        Assert.Equal((expected.ExitCode, Normalise(expected.StdErr)), (actual.ExitCode, Normalise(actual.StdErr)));
        Assert.True(Same(theirs, ours), "the converted disks differ");
        foreach (var verb in new[] { new[] { "info" }, ["info", "--output=json"], ["map"], ["map", "--output=json"] })
        {
            AssertSame([.. verb, .. formatArgs, name]);
        }
    }

    /// <summary>Tails of files' last clusters follow the read order: a file of many chunks after a small one must still convert alike.</summary>
    [Fact]
    public void Convert_of_a_large_file_after_a_small_one_gives_qemu_img_s_bytes()
    {
        var dir = _dir.File("large");
        Directory.CreateDirectory(dir);
        Write(Path.Combine(dir, "small"), 5000, new Random(2));
        Write(Path.Combine(dir, "large"), 6_000_000, new Random(3));
        Write(Path.Combine(dir, "after"), 700, new Random(4));
        var theirs = _dir.File("theirs.raw");
        var ours = _dir.File("ours.raw");
        Assert.Equal(0, ExternalTool.Run("qemu-img", "convert", "-O", "raw", "fat:" + dir, theirs).ExitCode);
        Assert.Equal(0, Diskimg.Run("convert", "-O", "raw", "fat:" + dir, ours).ExitCode);
        Assert.True(Same(theirs, ours), "the converted disks differ");
    }

    [Theory]
    [InlineData("-c", "read -v 0x1be 66")]
    [InlineData("-c", "read -v 0x7e00 512")]
    [InlineData("-c", "read -v 0x8000 64")]
    [InlineData("-c", "info")]
    [InlineData("-c", "map")]
    [InlineData("-c", "write 0 512")]
    [InlineData("-c", "read 0x1f800000 512")]
    public void Qemu_io_reads_as_qemu_io(string flag, string command)
    {
        var name = "fat:" + _dir.File("tree");
        var expected = ExternalTool.Run("qemu-io", "-r", flag, command, name);
        var actual = Diskimg.Run("io", "-r", flag, command, name);
        Assert.Equal(
            (expected.ExitCode, Normalise(expected.StdOut), Normalise(expected.StdErr)),
            (actual.ExitCode, Normalise(actual.StdOut), Normalise(actual.StdErr)));
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("file")]
    [InlineData("rw")]
    [InlineData("root")]
    [InlineData("huge")]
    [InlineData("nofit")]
    [InlineData("writable")]
    public void A_directory_qemu_refuses_is_refused_alike(string kind)
    {
        var dir = _dir.File("case");
        Directory.CreateDirectory(dir);
        var name = "fat:" + dir;
        switch (kind)
        {
            case "missing":
                name = "fat:" + _dir.File("missing");
                break;
            case "file":
                name = "fat:" + _dir.File("tree") + "/tiny";
                break;
            case "rw":
                name = "fat:rw:" + _dir.File("tree");
                break;
            case "root":
                // Each name takes a long-name entry and its 8.3 entry: 300 of them overflow the 512-entry root.
                for (var i = 0; i < 300; i++)
                {
                    File.WriteAllText(Path.Combine(dir, "f" + i), "");
                }

                break;
            case "huge":
                using (var huge = File.Create(Path.Combine(dir, "huge")))
                {
                    huge.SetLength(3L << 30);
                }

                break;
            case "nofit":
                name = "fat:floppy:12:" + dir;
                Write(Path.Combine(dir, "big"), 2_000_000, new Random(1));
                break;
        }

        string[] arguments = kind == "writable" ? ["io", "-c", "read 0 512", name] : ["info", name];
        var expected = arguments[0] == "io" ? ExternalTool.Run("qemu-io", arguments[1..]) : ExternalTool.Run("qemu-img", arguments);
        var actual = Diskimg.Run(arguments);
        Assert.NotEqual(0, expected.ExitCode);
        Assert.Equal(
            (expected.ExitCode, Normalise(expected.StdOut), Normalise(expected.StdErr)),
            (actual.ExitCode, Normalise(actual.StdOut), Normalise(actual.StdErr)));
    }

    private void AssertSame(string[] arguments)
    {
        var expected = ExternalTool.Run("qemu-img", arguments);
        var actual = Diskimg.Run(arguments);
        Assert.Equal(
            (expected.ExitCode, Normalise(expected.StdOut), Normalise(expected.StdErr)),
            (actual.ExitCode, Normalise(actual.StdOut), Normalise(actual.StdErr)));
    }

    private string Normalise(string text) => QemuToolOutput.Normalise(text, _dir.Path);

    private static bool Same(string a, string b)
    {
        using var first = File.OpenRead(a);
        using var second = File.OpenRead(b);
        if (first.Length != second.Length)
        {
            return false;
        }

        var x = new byte[1 << 20];
        var y = new byte[1 << 20];
        int read;
        while ((read = first.Read(x)) > 0)
        {
            second.ReadExactly(y, 0, read);
            if (!x.AsSpan(0, read).SequenceEqual(y.AsSpan(0, read)))
            {
                return false;
            }
        }

        return true;
    }
}
