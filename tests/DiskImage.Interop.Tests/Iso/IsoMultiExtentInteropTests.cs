using System.Globalization;
using DiskImage.Formats.Iso9660;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Iso;

/// <summary>Files over 4 GiB: several directory records with the multi-extent flag (sparse source, sparse image, so it stays fast).</summary>
public class IsoMultiExtentInteropTests
{
    [Fact]
    public void A_4_5_GiB_file_is_split_into_the_sections_xorriso_reads()
    {
        const long Size = 4_831_838_208;
        using var dir = new TempDirectory();
        var tree = dir.File("tree");
        Directory.CreateDirectory(tree);
        using (var big = new FileStream(Path.Combine(tree, "big.bin"), FileMode.CreateNew))
        {
            big.SetLength(Size);
            big.Write("START"u8);
            big.Seek(0xFFFFF800 - 3, SeekOrigin.Begin);
            big.Write("EDGE!!"u8);
            big.Seek(Size - 3, SeekOrigin.Begin);
            big.Write("END"u8);
        }

        var image = dir.File("big.iso");
        Diskimg.Ok("iso", "create", "-o", image, "-R", tree);

        var report = ExternalTool.Run("xorriso", "-indev", image, "-find", "/big.bin", "-exec", "report_sections").EnsureSuccess("xorriso report_sections").StdOut;
        var sections = report.Split('\n').Where(l => l.StartsWith("File data lba:", StringComparison.Ordinal))
            .Select(l => l["File data lba:".Length..].Split(',', StringSplitOptions.TrimEntries))
            .Select(f => (Offset: long.Parse(f[1], CultureInfo.InvariantCulture) * 2048, Length: long.Parse(f[3], CultureInfo.InvariantCulture)))
            .ToList();
        Assert.Equal(2, sections.Count);
        Assert.Equal(Size, sections.Sum(s => s.Length));

        using (var iso = IsoFileSystem.Open(image))
        {
            var node = iso.Find("/big.bin")!;
            Assert.Equal(Size, node.Size);
            Assert.Equal(sections, node.Extents.Select(e => (e.Offset, e.Length)));
        }

        // The bytes where xorriso says each section lies are the source's bytes.
        using var file = File.OpenRead(image);
        Assert.Equal("START", ReadAt(file, sections[0].Offset, 5));
        Assert.Equal("EDG", ReadAt(file, sections[0].Offset + sections[0].Length - 3, 3));
        Assert.Equal("E!!", ReadAt(file, sections[1].Offset, 3));
        Assert.Equal("END", ReadAt(file, sections[1].Offset + sections[1].Length - 3, 3));
    }

    private static string ReadAt(FileStream file, long offset, int count)
    {
        var buffer = new byte[count];
        file.Seek(offset, SeekOrigin.Begin);
        file.ReadExactly(buffer);
        return System.Text.Encoding.ASCII.GetString(buffer);
    }
}
