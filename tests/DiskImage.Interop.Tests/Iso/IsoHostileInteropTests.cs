using System.Buffers.Binary;
using System.Text;
using DiskImage.Formats.Iso9660;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Iso;

/// <summary>Crafted images and hostile targets: the CLI fails with one line and exit code 1, and writes nothing outside the target.</summary>
public class IsoHostileInteropTests
{
    [Fact]
    public void Rock_ridge_name_with_dot_dot_extracts_nothing_outside_the_target()
    {
        using var dir = new TempDirectory();
        var iso = Build(dir, b => b.AddFile("zzzzzzz", Encoding.ASCII.GetBytes("evil\n")));
        Patch(iso, Encoding.ASCII.GetBytes("zzzzzzz"), Encoding.ASCII.GetBytes("../../x"));
        var target = Path.Combine(dir.Path, "a", "b", "target");
        Directory.CreateDirectory(target);

        AssertCleanFailure(Diskimg.Run("iso", "extract", iso, "-C", target));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path, "x", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFileSystemEntries(target));
    }

    [Fact]
    public void Directory_loop_gives_one_clean_error()
    {
        using var dir = new TempDirectory();
        var iso = Build(dir, b => b.AddFile("loopdir/sub/file.txt", Encoding.ASCII.GetBytes("x\n")));
        long loopdirOffset;
        using (var fs = IsoFileSystem.Open(iso))
        {
            loopdirOffset = fs.Find("/loopdir")!.DirectoryOffset;
        }

        // Point loopdir's "SUB" record at loopdir itself.
        var bytes = File.ReadAllBytes(iso);
        var extent = bytes.AsSpan((int)loopdirOffset, 2048);
        var record = extent.IndexOf("\x03SUB"u8) - 32;
        Assert.True(record > 0);
        var block = (uint)(loopdirOffset / 2048);
        BinaryPrimitives.WriteUInt32LittleEndian(extent[(record + 2)..], block);
        BinaryPrimitives.WriteUInt32BigEndian(extent[(record + 6)..], block);
        File.WriteAllBytes(iso, bytes);

        AssertCleanFailure(Diskimg.Run("iso", "ls", "-R", iso), "loop");
        AssertCleanFailure(Diskimg.Run("iso", "extract", iso, "-C", dir.File("out")), "loop");
    }

    [Fact]
    public void Extent_past_the_end_of_the_file_gives_one_clean_error()
    {
        using var dir = new TempDirectory();
        var iso = Build(dir, b => b.AddFile("big.txt", new byte[5000]));
        var bytes = File.ReadAllBytes(iso);
        var record = bytes.AsSpan().IndexOf("\tBIG.TXT;1"u8) - 32;
        Assert.True(record > 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(record + 2), 0x00100000);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(record + 6), 0x00100000);
        File.WriteAllBytes(iso, bytes);

        AssertCleanFailure(Diskimg.Run("iso", "extract", iso, "-C", dir.File("out")), "past the end");
        Assert.False(File.Exists(Path.Combine(dir.File("out"), "big.txt")));
    }

    [Fact]
    public void Both_endian_mismatch_and_truncation_give_one_clean_error()
    {
        using var dir = new TempDirectory();
        var iso = Build(dir, b => b.AddFile("f.txt", new byte[10]));
        var bytes = File.ReadAllBytes(iso);
        bytes[(16 * 2048) + 80] ^= 0x01;
        File.WriteAllBytes(dir.File("mismatch.iso"), bytes);
        AssertCleanFailure(Diskimg.Run("iso", "ls", dir.File("mismatch.iso")), "byte orders");

        File.WriteAllBytes(dir.File("short.iso"), File.ReadAllBytes(iso)[..(16 * 2048 + 100)]);
        AssertCleanFailure(Diskimg.Run("iso", "ls", dir.File("short.iso")));
    }

    [Fact]
    public void Extraction_never_writes_through_existing_symlinks()
    {
        using var dir = new TempDirectory();
        var iso = Build(dir, b =>
        {
            b.AddFile("file.txt", Encoding.ASCII.GetBytes("from iso\n"));
            b.AddFile("sub/inner.txt", Encoding.ASCII.GetBytes("inner\n"));
        });
        var outside = dir.File("outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "victim"), "untouched");
        var target = dir.File("target");
        Directory.CreateDirectory(target);
        File.CreateSymbolicLink(Path.Combine(target, "file.txt"), Path.Combine(outside, "victim"));
        File.CreateSymbolicLink(Path.Combine(target, "sub"), outside);

        AssertCleanFailure(Diskimg.Run("iso", "extract", iso, "-C", target), "symbolic link");
        Assert.Equal("untouched", File.ReadAllText(Path.Combine(outside, "victim")));
        Assert.False(File.Exists(Path.Combine(outside, "inner.txt")));
        // The link standing where a file goes was replaced by the file itself, not followed.
        Assert.Null(new FileInfo(Path.Combine(target, "file.txt")).LinkTarget);
        Assert.Equal("from iso\n", File.ReadAllText(Path.Combine(target, "file.txt")));
    }

    private static string Build(TempDirectory dir, Action<IsoBuilder> add)
    {
        var builder = new IsoBuilder(new IsoBuildOptions { VolumeId = "HOSTILE", RockRidge = IsoRockRidgeMode.Exact, SourceDateEpoch = DateTimeOffset.FromUnixTimeSeconds(1700000000) });
        add(builder);
        var path = dir.File("crafted.iso");
        builder.Build(path);
        return path;
    }

    private static void Patch(string path, byte[] from, byte[] to)
    {
        var bytes = File.ReadAllBytes(path);
        var at = bytes.AsSpan().IndexOf(from);
        Assert.True(at > 0);
        to.CopyTo(bytes, at);
        File.WriteAllBytes(path, bytes);
    }

    private static void AssertCleanFailure(ExternalTool.Result result, string? containing = null)
    {
        Assert.Equal(1, result.ExitCode);
        var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("diskimg: ", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StdErr, StringComparison.Ordinal);
        if (containing is not null)
        {
            Assert.Contains(containing, lines[0], StringComparison.Ordinal);
        }
    }
}
