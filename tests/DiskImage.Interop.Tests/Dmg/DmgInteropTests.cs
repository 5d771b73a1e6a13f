using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Migration;
using DiskImage.Tests.Formats.Dmg;
using static DiskImage.Tests.Formats.Dmg.UdifWriter;

namespace DiskImage.Interop.Tests.Dmg;

/// <summary>
/// dmg images (made by the test-side <see cref="UdifWriter"/>) judged by qemu-img and qemu-io: probing, info, map,
/// reads, convert, compare, measure, dd, the refused verbs, unreadable chunks and each of QEMU's table checks.
/// </summary>
public class DmgInteropTests
{
    /// <summary>Every kind of chunk qemu-img reads: zlib, raw (one ending mid-sector), zero and ignore, with a comment entry.</summary>
    private static byte[] Sample(bool resourceFork) => Build(
        [
            new Part(TypeZlib, 24, Pattern(24, 1)),
            new Part(TypeRaw, 8, Pattern(8, 2)),
            new Part(TypeZero, 4096),
            new Part(TypeComment, 0),
            new Part(TypeZlib, 16, new byte[16 * 512]),
            new Part(TypeRaw, 3, Pattern(3, 3)[..1200]),
            new Part(TypeIgnore, 5),
        ],
        resourceFork);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Images_read_as_in_qemu(bool resourceFork)
    {
        using var dir = new TempDirectory();
        var path = dir.File("sample.dmg");
        File.WriteAllBytes(path, Sample(resourceFork));

        // convert to raw byte for byte, info and map (both outputs) as qemu-img prints them.
        MigrationInterop.AssertReadsAsQemu(dir, path, "dmg");
        SameAsQemuImg(dir, "info", "@");
        SameAsQemuImg(dir, "check", "@");
        SameAsQemuImg(dir, "measure", "-O", "qcow2", "@");
        SameAsQemuImg(dir, "compare", "@", dir.File("theirs.raw"));

        var qcow2 = dir.File("ours.qcow2");
        Diskimg.Ok("convert", "-O", "qcow2", path, qcow2);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", path, qcow2).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", qcow2).ExitCode);

        ExternalTool.QemuImg("dd", "if=" + path, "of=" + dir.File("theirs.dd"), "bs=4k", "count=3", "skip=1");
        Diskimg.Ok("dd", "if=" + path, "of=" + dir.File("ours.dd"), "bs=4k", "count=3", "skip=1");
        Assert.Equal(File.ReadAllBytes(dir.File("theirs.dd")), File.ReadAllBytes(dir.File("ours.dd")));

        SameAsQemuIo(path, "-r", "-c", "read -P 0 16k 2M", "-c", "read -v 16380 8", "-c", "read -v 2113000 800", "-c", "read 0 2121216");
    }

    [Theory]
    [InlineData("image.dmg", false)]
    [InlineData("image.img", false)]
    [InlineData("image.DMG", false)]
    [InlineData("image.dmg", true)]
    public void Probing_goes_by_the_name_as_in_qemu(string name, bool notDmg)
    {
        using var dir = new TempDirectory();
        var path = dir.File(name);
        File.WriteAllBytes(path, notDmg ? new byte[3000] : Sample(false));
        SameAsQemuImg(dir, "info", path);
        SameAsQemuImg(dir, "info", "--output=json", path);
    }

    [Fact]
    public void Unreadable_chunks_warn_and_fail_reads_as_in_qemu()
    {
        using var dir = new TempDirectory();
        var path = dir.File("unreadable.dmg");
        File.WriteAllBytes(path, Build(
            [
                new Part(TypeRaw, 2, Pattern(2, 4)),
                new Part(TypeBzip2, 4, [1, 2, 3]),
                new Part(TypeLzfse, 2, [4, 5]),
                new Part(TypeBzip2, 1, [6]),
                new Part(0x1234, 2, [7]),
                new Part(TypeZero, 3),
            ]));
        SameAsQemuImg(dir, "info", "@");
        SameAsQemuImg(dir, "convert", "-O", "raw", "@", dir.File("out.raw"));
        SameAsQemuImg(dir, "convert", "--salvage", "-O", "raw", "@", dir.File("salvaged.raw"));
        SameAsQemuIo(path, "-r", "-c", "read 0 1k", "-c", "read 1k 512", "-c", "read 5632 1536", "-c", "read 5k 1k");
    }

    [Fact]
    public void Damaged_zlib_chunks_fail_reads_as_in_qemu()
    {
        using var dir = new TempDirectory();
        var path = dir.File("damaged.dmg");
        var image = Build([new Part(TypeZlib, 8, Pattern(8, 5)), new Part(TypeZlib, 8, Pattern(8, 6)), new Part(TypeZlib, 8, Pattern(8, 7))]);
        var second = Compress(Pattern(8, 5)).Length;
        image[second + 20] ^= 0xFF; // inside the second chunk's deflate data
        File.WriteAllBytes(path, image);
        SameAsQemuIo(path, "-r", "-c", "read -v 4090 12", "-c", "read 4k 512", "-c", "read 8k 4k");
        SameAsQemuImg(dir, "convert", "-O", "raw", "@", dir.File("out.raw"));
    }

    /// <summary>
    /// The second chunk's stored bytes stop <paramref name="cut"/> bytes short of its zlib stream's end (inside or before
    /// the Adler-32 trailer), or carry <c>-cut</c> bytes after it: QEMU needs the stream to end inside the chunk and
    /// ignores what follows.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(-5)]
    public void Zlib_streams_must_end_inside_their_chunk_as_in_qemu(int cut)
    {
        using var dir = new TempDirectory();
        var path = dir.File("cut.dmg");
        var first = Compress(Pattern(8, 5));
        var second = Compress(Pattern(8, 6));
        byte[] stored = cut > 0 ? second[..^cut] : [.. second, .. Enumerable.Repeat((byte)0xA5, -cut)];
        var entries = new[]
        {
            new Entry(TypeZlib, 0, 8, 0, (ulong)first.Length),
            new Entry(TypeZlib, 8, 8, (ulong)first.Length, (ulong)stored.Length),
            new Entry(TypeTerminator, 16, 0, (ulong)(first.Length + stored.Length), 0),
        };
        File.WriteAllBytes(path, Assemble([.. first, .. stored], [Mish(0, 0, entries)], resourceFork: false, sectorCount: 16));
        SameAsQemuIo(path, "-r", "-c", "read -v 4090 12", "-c", "read 4k 512", "-c", "read 0 512");
        SameAsQemuImg(dir, "convert", "-O", "raw", "@", dir.File("out.raw"));
    }

    [Theory]
    [InlineData("resize @ 20M")]
    [InlineData("commit @")]
    [InlineData("amend -o size=20M @")]
    [InlineData("snapshot -c s1 @")]
    [InlineData("snapshot -l @")]
    [InlineData("rebase -u -b other.raw -F raw @")]
    [InlineData("create -f dmg new.dmg 1M")]
    [InlineData("create -f qcow2 -b @ -F dmg overlay.qcow2")]
    [InlineData("bitmap --add @ b0")]
    public void Verbs_answer_as_qemu_img(string command)
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("sample.dmg"), Sample(false));
        SameAsQemuImg(dir, command.Split(' '));
        SameAsQemuIo(dir.File("sample.dmg"), "-c", "read 0 512");
    }

    /// <summary>Each check QEMU makes of the trailer and the tables, with its words (or its bare EINVAL).</summary>
    [Theory]
    [InlineData("empty")]
    [InlineData("no-trailer")]
    [InlineData("trailer-in-last-sector")]
    [InlineData("data-fork-past-trailer")]
    [InlineData("resource-fork-past-trailer")]
    [InlineData("resource-fork-too-long")]
    [InlineData("xml-past-trailer")]
    [InlineData("no-tables")]
    [InlineData("negative-size")]
    [InlineData("size-past-limit")]
    [InlineData("xml-too-long")]
    [InlineData("xml-unclosed-data")]
    [InlineData("xml-no-mish")]
    [InlineData("xml-nul-before-data")]
    [InlineData("sector-count-past-max")]
    [InlineData("zero-sector-count-unbounded")]
    [InlineData("length-past-max")]
    [InlineData("resource-data-offset")]
    [InlineData("resource-count-zero")]
    [InlineData("resource-size-past-end")]
    [InlineData("sector-past-chunks")]
    [InlineData("unsorted-chunks")]
    public void Damaged_images_fail_as_in_qemu(string damage)
    {
        using var dir = new TempDirectory();
        var path = dir.File("damaged.dmg");
        File.WriteAllBytes(path, Damaged(damage));
        SameAsQemuImg(dir, "info", "@");
        if (damage is "zero-sector-count-unbounded")
        {
            // 512 TiB: a raw copy cannot be made; the zero chunk past 64 MiB still reads.
            SameAsQemuIo(path, "-r", "-c", "read -P 0 1T 128M", "-c", "read 0 512");
        }
        else if (damage is not ("xml-nul-before-data" or "xml-no-mish" or "sector-past-chunks"))
        {
            // (Without any chunk, or past the last, QEMU's search reads past its table and may crash; ours fails the read.)
            SameAsQemuImg(dir, "convert", "-O", "raw", "@", dir.File("out.raw"));
        }
    }

    private static byte[] Damaged(string damage)
    {
        var rsrc = damage.StartsWith("resource", StringComparison.Ordinal);
        var image = Sample(rsrc);
        var trailer = (ulong)(image.Length - 512);
        switch (damage)
        {
            case "empty":
                return [];
            case "no-trailer":
                image[^512] = (byte)'K';
                break;
            case "trailer-in-last-sector":
                // The magic may start in the last 511 bytes of the second-to-last sector, or the last sector's first 4.
                return [.. image, .. new byte[509]];
            case "data-fork-past-trailer":
                SetTrailerField(image, DataForkOffsetField, trailer + 1);
                break;
            case "resource-fork-past-trailer":
                SetTrailerField(image, ResourceForkOffsetField, trailer);
                break;
            case "resource-fork-too-long":
                SetTrailerField(image, ResourceForkLengthField, trailer);
                break;
            case "xml-past-trailer":
                SetTrailerField(image, XmlLengthField, trailer);
                break;
            case "no-tables":
                SetTrailerField(image, XmlLengthField, 0);
                break;
            case "negative-size":
                SetTrailerField(image, SectorCountField, 1UL << 63);
                break;
            case "size-past-limit":
                SetTrailerField(image, SectorCountField, (1UL << 54) - 1);
                break;
            case "xml-too-long":
                var koly = image[^512..];
                byte[] large = [.. new byte[(16 << 20) + 1024], .. koly];
                SetTrailerField(large, XmlOffsetField, 0);
                SetTrailerField(large, XmlLengthField, (16 << 20) + 1);
                return large;
            case "xml-unclosed-data":
                return WithXml("<plist><data>AAAA</data><data>AAAA</plist>");
            case "xml-no-mish":
                return WithXml("<data>bWlzaA==</data><data>!!! not base64 at all ***</data><data></data>");
            case "xml-nul-before-data":
                return WithXml("<plist>\0<data>" + Convert.ToBase64String(Mish(0, 0, [new Entry(TypeRaw, 0, 1 << 18, 0, 1)])) + "</data>");
            case "sector-count-past-max":
                return WithBlocks([new Entry(TypeZlib, 0, 1, 0, 10), new Entry(TypeRaw, 1, (1 << 17) + 1, 0, 512)], 1);
            case "zero-sector-count-unbounded":
                return WithBlocks([new Entry(TypeRaw, 0, 1, 0, 512), new Entry(TypeZero, 1, 1UL << 40, 0, 0)], 1 + (1UL << 40));
            case "length-past-max":
                return WithBlocks([new Entry(TypeZlib, 0, 1, 0, (64 << 20) + 1)], 1);
            case "resource-data-offset":
                image[(int)ReadField(image, ResourceForkOffsetField)] = 0x7F;
                break;
            case "resource-count-zero":
                Array.Clear(image, (int)ReadField(image, ResourceForkOffsetField) + 8, 4);
                break;
            case "resource-size-past-end":
                image[(int)ReadField(image, ResourceForkOffsetField) + 256] = 0x10;
                break;
            case "sector-past-chunks":
                SetTrailerField(image, SectorCountField, 4200);
                break;
            case "unsorted-chunks":
                return WithBlocks([new Entry(TypeRaw, 8, 8, 0, 4096), new Entry(TypeZero, 0, 8, 0, 0), new Entry(TypeRaw, 20, 2, 4096, 1024), new Entry(TypeIgnore, 16, 4, 0, 0)], 22, Pattern(10, 8));
        }

        return image;
    }

    private static byte[] WithXml(string xml)
    {
        var text = System.Text.Encoding.Latin1.GetBytes(xml);
        var image = Assemble(text, [], false, 4);

        // The tables are the text in the data fork's place; the (empty) plist Assemble wrote is not referred to.
        SetTrailerField(image, XmlOffsetField, 0);
        SetTrailerField(image, XmlLengthField, (ulong)text.Length);
        return image;
    }

    private static byte[] WithBlocks(IReadOnlyList<Entry> entries, ulong sectors, byte[]? data = null) =>
        Assemble(data ?? Pattern(1, 9), [Mish(0, 0, entries)], false, sectors);

    private static ulong ReadField(byte[] image, int field) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(image.AsSpan(image.Length - 512 + field));

    /// <summary>
    /// Runs a qemu-img command line (<c>@</c> standing for the directory's image, other names relative to the
    /// directory) with both tools on the same file: same exit code, same output, same stderr (program name aside).
    /// What qemu-img writes is moved aside first, and must be what diskimg then writes.
    /// </summary>
    private static void SameAsQemuImg(TempDirectory dir, params string[] arguments)
    {
        string[] images = ["unreadable.dmg", "damaged.dmg", "sample.dmg"];
        var image = dir.File(images.FirstOrDefault(name => File.Exists(dir.File(name))) ?? "none");
        var args = arguments.Select(a => a == "@" ? image : a.EndsWith(".raw", StringComparison.Ordinal) || a.EndsWith(".dmg", StringComparison.Ordinal) || a.EndsWith(".qcow2", StringComparison.Ordinal) ? dir.File(a) : a).ToArray();
        var theirs = ExternalTool.Run("qemu-img", args);
        string[] outputs = ["out.raw", "salvaged.raw", "new.dmg", "overlay.qcow2"];
        foreach (var output in outputs.Where(o => File.Exists(dir.File(o))))
        {
            File.Move(dir.File(output), dir.File("theirs-" + output));
        }

        var ours = Diskimg.Run(args);
        var what = string.Join(' ', arguments);
        Assert.True(theirs.ExitCode == ours.ExitCode, $"{what}: qemu-img exited {theirs.ExitCode}, diskimg {ours.ExitCode}: {ours.StdErr}");
        Assert.Equal(theirs.StdOut, ours.StdOut);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdErr), QemuToolOutput.Normalise(ours.StdErr));
        // A failed convert leaves qemu-img's partial output; ours is whole or absent.
        foreach (var output in outputs.Where(o => File.Exists(dir.File("theirs-" + o))))
        {
            if (ours.ExitCode == 0)
            {
                Assert.Equal(File.ReadAllBytes(dir.File("theirs-" + output)), File.ReadAllBytes(dir.File(output)));
            }

            File.Delete(dir.File("theirs-" + output));
            File.Delete(dir.File(output));
        }
    }

    private static void SameAsQemuIo(string path, params string[] arguments)
    {
        var theirs = ExternalTool.Run("qemu-io", [.. arguments, path]);
        var ours = Diskimg.Run(["io", .. arguments, path]);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(theirs.StdOut + theirs.StdErr), QemuToolOutput.Normalise(ours.StdOut + ours.StdErr));
    }
}
