using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Cli;

/// <summary>
/// convert and commit command lines where qemu-img's choices are easy to miss (compression into VMDKs that are not
/// stream-optimized, <c>-o size</c>, <c>-l</c> with several sources, a base named for an image without one), run by
/// qemu-img and by diskimg on identical copies: stdout, stderr (program name and directory normalised), exit code
/// and the bytes of every file left, a VMDK's random CID aside.
/// </summary>
public partial class QemuImgConvertGapsInteropTests
{
    [Theory]
    // -c into a VMDK that is not stream-optimized: plain writes of whole grains (flat ones have no grain to compress)
    [InlineData("convert -O vmdk -c d.qcow2 t.vmdk")]
    [InlineData("convert -O vmdk -c -o subformat=twoGbMaxExtentSparse d.qcow2 t.vmdk")]
    [InlineData("convert -O vmdk -c -S 0 d.qcow2 t.vmdk")]
    [InlineData("convert -O vmdk -o subformat=monolithicFlat d.qcow2 t.vmdk")]
    [InlineData("convert -O vmdk -o subformat=twoGbMaxExtentFlat d.qcow2 t.vmdk")]
    [InlineData("convert -O vmdk -o subformat=twoGbMaxExtentSparse d.qcow2 t.vmdk")]
    // streamOptimized: each compressed grain is stored where QEMU's whole-grain allocation puts it
    [InlineData("convert -O vmdk -o subformat=streamOptimized d.qcow2 t.vmdk")]
    [InlineData("convert -O vmdk -S 0 -o subformat=streamOptimized s.qcow2 t.vmdk")]
    // -o size: read as a size, then the sources' length is set over it
    [InlineData("convert -O qcow2 -o size=1M d.qcow2 t.qcow2")]
    [InlineData("convert -O qcow2 -o size=100M d.qcow2 t.qcow2")]
    [InlineData("convert -O raw -o size=0 d.qcow2 t.raw")]
    [InlineData("convert -O qcow2 -o size=15E d.qcow2 t.qcow2")]
    [InlineData("convert -O raw -o size=100E d.qcow2 t.raw")]
    [InlineData("convert -O raw -o size=abc d.qcow2 t.raw")]
    [InlineData("convert -O raw -o size=-1 d.qcow2 t.raw")]
    [InlineData("convert -O qcow2 -o bogus=1,size=abc d.qcow2 t.qcow2")]
    [InlineData("convert -O qcow2 -o size=abc,bogus=1 d.qcow2 t.qcow2")]
    [InlineData("convert -O qcow2 -o size=1M,cluster_size=4k d.qcow2 t.qcow2")]
    // -l snapshot.name with several sources: the first source only
    [InlineData("convert -l snapshot.name=snap1 -O raw s.qcow2 d.qcow2 t.raw")]
    [InlineData("convert -l snapshot.name=snap1 -O raw d.qcow2 s.qcow2 t.raw")]
    [InlineData("convert -l snapshot.id=1 -O raw s.qcow2 s.qcow2 t.raw")]
    // commit -b on an image without a backing file
    [InlineData("commit -b '' d.qcow2")]
    [InlineData("commit -b d.qcow2 d.qcow2")]
    public void Matches_qemu_img(string commandLine)
    {
        var theirs = RunIn("qemu-img", commandLine, run => ExternalTool.Run("qemu-img", run));
        var ours = RunIn("diskimg", commandLine, Diskimg.Run);

        Assert.Equal(theirs.Output.StdOut, ours.Output.StdOut);
        Assert.Equal(theirs.Output.StdErr, ours.Output.StdErr);
        Assert.Equal(theirs.Output.ExitCode, ours.Output.ExitCode);
        Assert.Equal(theirs.Files, ours.Files);
    }

    [Fact]
    public void Compression_into_a_flat_vmdk_fails_as_qemu_img_does_and_leaves_nothing()
    {
        // qemu-img leaves the image it created; a failed convert here leaves no target (and no extent file).
        const string commandLine = "convert -O vmdk -c -o subformat=monolithicFlat d.qcow2 t.vmdk";
        var theirs = RunIn("qemu-img", commandLine, run => ExternalTool.Run("qemu-img", run));
        var ours = RunIn("diskimg", commandLine, Diskimg.Run);

        Assert.Equal(1, theirs.Output.ExitCode);
        Assert.Equal(theirs.Output.StdErr, ours.Output.StdErr);
        Assert.Equal(theirs.Output.ExitCode, ours.Output.ExitCode);
        Assert.DoesNotContain("t.vmdk", ours.Files, StringComparison.Ordinal);
        Assert.DoesNotContain("t-flat.vmdk", ours.Files, StringComparison.Ordinal);
    }

    /// <summary>
    /// Random sources (data, filled and sparse runs at random offsets): the VMDKs written with <c>-c</c> are
    /// qemu-img's, whether the grains are stored plainly (sparse subformats) or compressed (streamOptimized: grain
    /// markers, sizes, padding and the file's end).
    /// </summary>
    [Theory]
    [InlineData(1, 3 << 20, "")]
    [InlineData(2, (5 << 20) + 4096, "")]
    [InlineData(3, 1 << 20, "-o subformat=twoGbMaxExtentSparse")]
    [InlineData(4, (2 << 20) + 512, "-S 0")]
    [InlineData(5, 3 << 20, "-o subformat=streamOptimized")]
    [InlineData(6, (1 << 20) + 1536, "-o subformat=streamOptimized")]
    [InlineData(7, 4 << 20, "-o subformat=streamOptimized -S 0")]
    public void Compressed_sparse_vmdk_copies_are_qemu_img_bytes(int seed, long size, string extra)
    {
        using var dir = new TempDirectory();
        var source = RandomSource(dir, seed, size);
        var commandLine = $"convert -c -f raw -O vmdk {extra} {source} {dir.File("X.vmdk")}".Replace("  ", " ", StringComparison.Ordinal);
        ExternalTool.Run("qemu-img", [.. commandLine.Replace("X.vmdk", "q.vmdk", StringComparison.Ordinal).Split(' ')]).EnsureSuccess("qemu-img " + commandLine);
        Diskimg.Run([.. commandLine.Replace("X.vmdk", "d.vmdk", StringComparison.Ordinal).Split(' ')]).EnsureSuccess("diskimg " + commandLine);

        Assert.Equal(Hashes(dir, "q"), Hashes(dir, "d"));
    }

    /// <summary>
    /// Random sources compressed into qcow2 at several cluster sizes: the deflate bytes (QEMU's window and memory level,
    /// through the zlib qemu-img uses), the packing of compressed clusters into host clusters and the file's end are
    /// qemu-img's, byte for byte.
    /// </summary>
    [Theory]
    [InlineData(11, 3 << 20, "-o cluster_size=4k")]
    [InlineData(12, (2 << 20) + 4096, "-o cluster_size=16k")]
    [InlineData(13, 3 << 20, "")]
    [InlineData(14, 2 << 20, "-o cluster_size=4k,compression_type=zstd")]
    [InlineData(15, (1 << 20) + 512, "-o cluster_size=2k")]
    public void Compressed_qcow2_copies_are_qemu_img_bytes(int seed, long size, string extra)
    {
        using var dir = new TempDirectory();
        var source = RandomSource(dir, seed, size);
        var commandLine = $"convert -c -f raw -O qcow2 {extra} {source} {dir.File("X.qcow2")}".Replace("  ", " ", StringComparison.Ordinal);
        ExternalTool.Run("qemu-img", [.. commandLine.Replace("X.qcow2", "q.qcow2", StringComparison.Ordinal).Split(' ')]).EnsureSuccess("qemu-img " + commandLine);
        Diskimg.Run([.. commandLine.Replace("X.qcow2", "d.qcow2", StringComparison.Ordinal).Split(' ')]).EnsureSuccess("diskimg " + commandLine);

        Assert.Equal(File.ReadAllBytes(dir.File("q.qcow2")), File.ReadAllBytes(dir.File("d.qcow2")));
    }

    /// <summary>
    /// A raw source of <paramref name="size"/> bytes with random runs of incompressible data, of one repeated byte
    /// (zero among them) and of holes, at random sector offsets.
    /// </summary>
    internal static string RandomSource(TempDirectory dir, int seed, long size)
    {
        var random = new Random(seed);
        var path = dir.File("src.raw");
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        file.SetLength(size);
        for (var i = 0; i < 16; i++)
        {
            var offset = random.NextInt64(0, size / 512) * 512;
            var run = new byte[(int)Math.Min(size - offset, random.Next(1, 400) * 512L)];
            switch (random.Next(3))
            {
                case 0:
                    random.NextBytes(run);
                    break;
                case 1:
                    Array.Fill(run, (byte)random.Next(256));
                    break;
                default:
                    Array.Fill(run, (byte)0);
                    break;
            }

            file.Position = offset;
            file.Write(run);
        }

        return path;
    }

    /// <summary>Every file of <paramref name="dir"/> whose name starts with <paramref name="prefix"/>, hashed (CID normalised).</summary>
    internal static string Hashes(TempDirectory dir, string prefix) =>
        string.Join('\n', Directory.GetFiles(dir.Path, prefix + "*").Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetFileName(f)[prefix.Length..]} {HashWithoutCid(f, prefix)}"));

    private sealed record Run(ExternalTool.Result Output, string Files);

    private static Run RunIn(string program, string commandLine, Func<string[], ExternalTool.Result> run)
    {
        using var dir = new TempDirectory();
        foreach (var file in Directory.GetFiles(Template.Value.Path))
        {
            File.Copy(file, dir.File(Path.GetFileName(file)));
        }

        var args = commandLine.Split(' ').Select(word => word switch
        {
            "''" => "",
            _ when !word.StartsWith('-') && word.Contains('.', StringComparison.Ordinal) && !word.Contains('=', StringComparison.Ordinal) => dir.File(word),
            _ => word,
        }).ToArray();
        var result = run(args);
        string Normalise(string text) => text
            .Replace(dir.Path, "DIR", StringComparison.Ordinal)
            .Replace($"{program}:", "PROG:", StringComparison.Ordinal);
        var files = string.Join('\n', Directory.GetFiles(dir.Path).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetFileName(f)} {HashWithoutCid(f, "")}"));
        return new Run(new ExternalTool.Result(result.ExitCode, Normalise(result.StdOut), Normalise(result.StdErr)), files);
    }

    /// <summary>
    /// A file's SHA-256 with a VMDK descriptor's CID (random on every write) and the name of the extent file (which
    /// follows the descriptor's own name) made the same.
    /// </summary>
    private static string HashWithoutCid(string path, string prefix)
    {
        var bytes = File.ReadAllBytes(path);
        var start = path.EndsWith(".vmdk", StringComparison.Ordinal) ? bytes.AsSpan().IndexOf("# Disk DescriptorFile"u8) : -1;
        if (start >= 0)
        {
            // Only the descriptor's text is normalised, never grain data. It ends at a NUL; what follows in its 20
            // sectors depends on how many digits the random CIDs had (QEMU's rewrite leaves a byte of the old text
            // behind a shorter one).
            var length = bytes.AsSpan(start).IndexOf((byte)0);
            length = length < 0 ? bytes.Length - start : length;
            var windowEnd = Math.Max(start + length, Math.Min(bytes.Length, start + (20 * 512)));
            var text = Cid().Replace(Encoding.Latin1.GetString(bytes, start, length), "CID=X");
            if (prefix.Length > 0)
            {
                text = text.Replace($"\"{prefix}", "\"P", StringComparison.Ordinal);
            }

            var window = new byte[Math.Max(windowEnd - start, text.Length)];
            Encoding.Latin1.GetBytes(text, window);
            bytes = [.. bytes.AsSpan(0, start), .. window, .. bytes.AsSpan(windowEnd)];
        }

        return Convert.ToHexString(SHA256.HashData(bytes));
    }

    [GeneratedRegex(@"(?<=\n)CID=[0-9a-f]+")]
    private static partial Regex Cid();

    /// <summary>The inputs, made once by qemu-img and qemu-io.</summary>
    private static readonly Lazy<TempDirectory> Template = new(() =>
    {
        var dir = new TempDirectory();
        void Img(params string[] a) => ExternalTool.RunIn(dir.Path, "qemu-img", a).EnsureSuccess("qemu-img " + string.Join(' ', a));
        void Io(params string[] a) => ExternalTool.RunIn(dir.Path, "qemu-io", a).EnsureSuccess("qemu-io " + string.Join(' ', a));
        Img("create", "-q", "-f", "qcow2", "d.qcow2", "4M");
        Io("-f", "qcow2", "-c", "write -P 2 256k 64k", "-c", "write -P 0 1M 64k", "-c", "write -P 7 2000k 100k", "d.qcow2");
        Img("create", "-q", "-f", "qcow2", "s.qcow2", "4M");
        Io("-f", "qcow2", "-c", "write -P 5 0 64k", "s.qcow2");
        Img("snapshot", "-c", "snap1", "s.qcow2");
        Io("-f", "qcow2", "-c", "write -P 6 0 64k", "-c", "write -P 8 3M 4k", "s.qcow2");
        return dir;
    });
}
