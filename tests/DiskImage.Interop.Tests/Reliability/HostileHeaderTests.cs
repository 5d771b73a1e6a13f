using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Reliability;

/// <summary>
/// The input-validation classes of QEMU's iotest 080 (and the overlap cases of 060): qemu-made images
/// with one field poked. <c>info</c> and <c>convert</c> must each answer with one clear line and exit 1.
/// </summary>
public class HostileHeaderTests
{
    public static TheoryData<string, string, string> Cases => new()
    {
        // name, poke (field@offset=value as u32/u64), expected words in the error
        { "header_length huge", "u32@100=0xffffffff", "header" },
        { "extension overruns", "u32@116=0xfffffff0", "extension" },
        { "refcount table huge", "u32@56=0xffffffff", "reference count table" },
        { "refcount table misaligned", "u64@48=0x12345", "reference count table" },
        { "refcount table empty", "u32@56=0", "reference count table" },
        { "too many snapshots", "u32@60=0x10001", "snapshot" },
        { "snapshot table misaligned", "u64@64=0x12345", "snapshot" },
        { "L1 huge", "u32@36=0x10000000", "l1" },
        { "L1 misaligned", "u64@40=0x12345", "l1" },
        { "L1 too small", "u32@36=0", "l1" },
        { "backing name too long", "u64@8=0x200;u32@16=0xffff", "backing file" },
        { "backing offset past cluster", "u64@8=0x100000;u32@16=4", "backing file" },
        { "bad version", "u32@4=4", "version" },
        { "version 1", "u32@4=1", "qcow" },
        { "bad crypt method", "u32@32=5", "encryption" },
        { "bad refcount order", "u32@96=7", "reference count" },
        { "cluster bits too small", "u32@20=8", "cluster size" },
        { "cluster bits too large", "u32@20=22", "cluster size" },
        { "unknown incompatible bit", "u64@72=0x20", "feature" },
        { "virtual size absurd", "u64@24=0x7fffffffffffffff", "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Crafted_headers_give_one_clean_error(string name, string poke, string expected)
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        Poke(image, poke);

        foreach (var args in new[] { new[] { "info", image }, ["convert", "-O", "raw", image, dir.File("out.raw")], ["check", image] })
        {
            var result = RunBounded(args);
            Assert.True(result.ExitCode is 1 or 2 or 3 or 63, $"{name}: 'diskimg {args[0]}' exited {result.ExitCode}: {result.StdErr}");
            if (args[0] == "check")
            {
                continue;
            }

            Assert.Equal(1, result.ExitCode);
            var lines = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1, $"{name}: 'diskimg {args[0]}' printed {lines.Length} lines: {result.StdErr}");
            Assert.Contains(expected, lines[0], StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("   at ", result.StdErr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Snapshot_L1_offset_and_size_are_validated()
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        var snapshots = (long)ReadU64(image, 64);
        foreach (var poke in new[] { $"u64@{snapshots}=0x12345", $"u32@{snapshots + 8}=0x10000000" })
        {
            var copy = dir.File("copy.qcow2");
            File.Copy(image, copy, overwrite: true);
            Poke(copy, poke);
            var theirCopy = dir.File("their-copy.qcow2");
            File.Copy(copy, theirCopy, overwrite: true);
            var result = RunBounded(["snapshot", "-a", "base", copy]);
            var theirs = ExternalTool.Run("qemu-img", "snapshot", "-a", "base", theirCopy);
            Assert.Equal(1, result.ExitCode);
            Assert.Equal(theirs.ExitCode, result.ExitCode);
            // qemu-img names the table's problem, then the failed load by its errno: the same lines.
            Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "", StringComparison.Ordinal).Replace(theirCopy, "IMG", StringComparison.Ordinal),
                result.StdErr.Replace("diskimg: ", "", StringComparison.Ordinal).Replace(copy, "IMG", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Bad L1 entries: QEMU reads an L2 offset past the end of the file (or made of reserved bits only) as
    /// unallocated, and refuses an unaligned one. We must give the same verdict and the same bytes.
    /// </summary>
    [Theory]
    [InlineData("0x80ff000000000000")]
    [InlineData("0x8100000000000000")]
    [InlineData("0x8000000000000200")]
    public void Bad_L1_entries_get_qemu_img_s_verdict(string entry)
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        var l1 = (long)ReadU64(image, 40);
        Poke(image, $"u64@{l1}={entry}");
        AssertSameConvertVerdict(dir, image);
    }

    /// <summary>
    /// Bad L2 entries (iotest 060's unaligned data offsets, and offsets past the end of the file): reading
    /// must give qemu-img's verdict — the same exit code, and the same bytes when it reads at all.
    /// </summary>
    [Theory]
    [InlineData("unaligned")]
    [InlineData("past-end")]
    [InlineData("compressed-past-end")]
    public void Bad_L2_entries_get_qemu_img_s_verdict(string kind)
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        const ulong offsetMask = 0x00fffffffffffe00;
        var l2 = (long)(ReadU64(image, (long)ReadU64(image, 40)) & offsetMask);
        var data = ReadU64(image, l2) & offsetMask;
        var entry = kind switch
        {
            "unaligned" => data + 512,
            "past-end" => 1UL << 40,
            _ => (1UL << 62) | (1UL << 40),
        };
        Poke(image, $"u64@{l2}=0x{entry:x}");
        AssertSameConvertVerdict(dir, image);
    }

    /// <summary>
    /// An L1 entry whose L2 table is off the cluster grid, met by block status: QEMU's corruption event, then each
    /// verb's EIO line (map keeps the header it already printed). Compared stream by stream with qemu-img.
    /// </summary>
    [Theory]
    [InlineData("map")]
    [InlineData("map --output=json")]
    [InlineData("compare @ @")]
    [InlineData("measure -O raw")]
    public void An_unaligned_L2_table_offset_fails_block_status_as_in_qemu_img(string verb)
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        Poke(image, $"u64@{(long)ReadU64(image, 40)}=0x8000000000000200");
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        File.Copy(image, theirs);
        File.Copy(image, ours);
        string[] Args(string path) => verb.Contains('@', StringComparison.Ordinal)
            ? [.. verb.Replace("@", path, StringComparison.Ordinal).Split(' ')]
            : [.. verb.Split(' '), path];
        var expected = ExternalTool.Run("qemu-img", Args(theirs));
        var actual = RunBounded(Args(ours));
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdOut.Replace(theirs, ours, StringComparison.Ordinal), actual.StdOut);
        Assert.Equal(expected.StdErr.Replace("qemu-img: ", "diskimg: ", StringComparison.Ordinal).Replace(theirs, ours, StringComparison.Ordinal), actual.StdErr);
    }

    /// <summary>qemu-img convert and ours must agree: both fail (ours with qemu-img's number of clean lines) or both give the same bytes.</summary>
    private static void AssertSameConvertVerdict(TempDirectory dir, string image)
    {
        var theirs = ExternalTool.Run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image, dir.File("theirs.raw"));
        var ours = RunBounded(["convert", "-f", "qcow2", "-O", "raw", image, dir.File("ours.raw")]);
        Assert.True(theirs.ExitCode == ours.ExitCode, $"qemu-img exited {theirs.ExitCode} ({theirs.StdErr.Trim()}), diskimg {ours.ExitCode} ({ours.StdErr.Trim()})");
        if (ours.ExitCode == 0)
        {
            Assert.True(File.ReadAllBytes(dir.File("theirs.raw")).AsSpan().SequenceEqual(File.ReadAllBytes(dir.File("ours.raw"))));
        }
        else
        {
            // One error line, after QEMU's corruption event line where qemu-img prints one too.
            var ourLines = ours.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(theirs.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, ourLines.Length);
            Assert.All(ourLines, line => Assert.True(
                line.StartsWith("diskimg: ", StringComparison.Ordinal) || line.StartsWith("qcow2: Image is corrupt: ", StringComparison.Ordinal), line));
            Assert.DoesNotContain("   at ", ours.StdErr, StringComparison.Ordinal);
        }
    }

    /// <summary>iotest 060: an L2 table that is really the L1 table. A write must refuse and mark the image corrupt instead of overwriting metadata.</summary>
    [Fact]
    public void A_write_through_an_L2_that_overlaps_the_L1_is_refused_and_marks_the_image_corrupt()
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        var l1 = (long)ReadU64(image, 40);
        Poke(image, $"u64@{l1}=0x{(1UL << 63) | (ulong)l1:x}");
        var before = File.ReadAllBytes(image);

        var result = RunBounded(["io", "-f", "qcow2", "-c", "write -P 0x11 0 64k", image]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("   at ", result.StdErr, StringComparison.Ordinal);
        var after = File.ReadAllBytes(image);
        Assert.True(before.AsSpan((int)l1, 512).SequenceEqual(after.AsSpan((int)l1, 512)), "the L1 table was overwritten");
        Assert.Contains("\"corrupt\": true", ExternalTool.QemuImg("info", "--output=json", image), StringComparison.Ordinal);
    }

    /// <summary>iotest 060: a data cluster that is really a refcount block. Writing guest data there must refuse and mark the image corrupt.</summary>
    [Fact]
    public void A_data_cluster_pointing_at_a_refcount_block_is_not_overwritten()
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        var l1 = (long)ReadU64(image, 40);
        var l2 = (long)(ReadU64(image, l1) & 0x00fffffffffffe00UL);
        var refTable = (long)ReadU64(image, 48);
        var refBlock = (long)(ReadU64(image, refTable) & ~0x1ffUL);
        Poke(image, $"u64@{l2}=0x{(1UL << 63) | (ulong)refBlock:x}");
        var before = File.ReadAllBytes(image);

        var result = RunBounded(["io", "-f", "qcow2", "-c", "write -P 0x11 0 4k", image]);
        Assert.NotEqual(0, result.ExitCode);
        var after = File.ReadAllBytes(image);
        Assert.True(before.AsSpan((int)refBlock, 4096).SequenceEqual(after.AsSpan((int)refBlock, 4096)), "the refcount block was overwritten");
        Assert.Contains("\"corrupt\": true", ExternalTool.QemuImg("info", "--output=json", image), StringComparison.Ordinal);
    }

    [Fact]
    public void The_corrupt_bit_allows_reading_but_refuses_writing()
    {
        using var dir = new TempDirectory();
        var image = MakeImage(dir);
        Poke(image, "u64@72=0x2");
        Assert.Equal(0, RunBounded(["convert", "-O", "raw", image, dir.File("out.raw")]).ExitCode);
        var result = RunBounded(["io", "-f", "qcow2", "-c", "write 0 512", image]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("corrupt", result.StdErr, StringComparison.OrdinalIgnoreCase);
    }

    private static ExternalTool.Result RunBounded(string[] args)
    {
        var task = Task.Run(() => Diskimg.Run(args));
        Assert.True(task.Wait(TimeSpan.FromSeconds(30)), $"'diskimg {string.Join(' ', args)}' did not finish within 30 s");
        return task.Result;
    }

    private static string MakeImage(TempDirectory dir)
    {
        var path = dir.File("victim.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", path, "64M");
        ExternalTool.QemuIo("-c", "write -P 0x5a 0 256k", "-c", "write -P 0x33 32M 64k", path);
        ExternalTool.QemuImg("snapshot", "-c", "base", path);
        return path;
    }

    private static ulong ReadU64(string path, long offset)
    {
        using var file = File.OpenHandle(path);
        var buffer = new byte[8];
        RandomAccess.Read(file, buffer, offset);
        return BinaryPrimitives.ReadUInt64BigEndian(buffer);
    }

    /// <summary>Applies pokes written as <c>u32@OFFSET=VALUE;u64@OFFSET=VALUE</c> (big-endian, as qcow2).</summary>
    private static void Poke(string path, string pokes)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        foreach (var poke in pokes.Split(';'))
        {
            var width = poke[..3];
            var at = long.Parse(poke[4..poke.IndexOf('=', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            var text = poke[(poke.IndexOf('=', StringComparison.Ordinal) + 1)..];
            var value = text.StartsWith("0x", StringComparison.Ordinal)
                ? ulong.Parse(text[2..], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture)
                : ulong.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
            var bytes = new byte[width == "u32" ? 4 : 8];
            if (width == "u32")
            {
                BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)value);
            }
            else
            {
                BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
            }

            RandomAccess.Write(file, bytes, at);
        }
    }
}
