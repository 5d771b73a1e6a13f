using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// Images with extended L2 entries (<c>extended_l2=on</c>, 32 subclusters a cluster): the same qemu-io commands run
/// by qemu-io on one copy and by <c>diskimg io</c> on another must leave byte-identical L2 tables (host offsets and
/// subcluster bitmaps, QEMU's test 271 reads them back the same way), the same guest content (qemu-img compare),
/// a clean qemu-img check and the same qemu-img map.
/// </summary>
public class SubclusterInteropTests
{
    private const string Size = "2083k";

    public static TheoryData<bool, string> Cases()
    {
        // Compressed clusters (c=N: guest cluster N, 64 KiB) partly or wholly covered by zero writes, as in 271's
        // "Writing zeroes 3" and "Zero + unmap 2"; zero writes and discards on subclusters of plain clusters.
        string[] sequences =
        [
            Compress(18, 19, 20) + "write -z 1152k 192k",
            Compress(21, 22, 23) + "write -z 1376k 128k",
            Compress(21, 22, 23) + "write -z -u 1376k 128k",
            Compress(24, 25, 26) + "write -z 1567k 129k",
            Compress(24, 25, 26) + "write -z -u 1567k 129k",
            Compress(27, 28) + "write -z 1759k 128k",
            Compress(27, 28) + "write -z -u 1759k 128k",
            "write -P 1 0 64k;write -z 1k 2k",
            "write -z 1951k 8k",
            "write -z 2048k 35k",
            "write -P 1 576k 576k;write -z 783k 128k",
            "write -P 1 576k 576k;write -z -u 783k 128k",
            "write -z 0 32k;discard 0 64k",
            "write -P 1 0 128k;discard 0 128k",
            "write -P 1 1k 512",
        ];
        var data = new TheoryData<bool, string>();
        foreach (var backing in new[] { false, true })
        {
            foreach (var sequence in sequences)
            {
                data.Add(backing, sequence);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes_leave_the_l2_entries_qemu_io_leaves(bool backing, string sequence)
    {
        using var dir = new TempDirectory();
        var theirs = Make(dir, "theirs.qcow2", backing);
        var ours = Make(dir, "ours.qcow2", backing);
        var commands = sequence.Split(';').SelectMany(c => new[] { "-c", c }).ToArray();

        ExternalTool.QemuIo(["-f", "qcow2", .. commands, theirs]);
        Diskimg.Ok(["io", "-f", "qcow2", .. commands, ours]);

        // Where compressed clusters are freed and clusters allocated again, QEMU allocates a write's new clusters as
        // one host run, a partial last cluster included; diskimg allocates that cluster on its own, so the reuse of
        // freed host clusters can differ (docs/CONFORMANCE.md, 271): there only the states are compared.
        var offsets = !sequence.Contains("-c", StringComparison.Ordinal);
        Assert.Equal(L2Table(theirs, offsets), L2Table(ours, offsets));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
        Assert.Equal(Map(theirs, offsets), Map(ours, offsets));
    }

    public static TheoryData<string, long, ulong, string> CorruptEntries() => new()
    {
        // Bits set into one L2 word (offset from the table's start): cluster 1's subcluster 0 both allocated and
        // zero; an unallocated entry with an allocated subcluster (also with a zero one); a host offset off the grid.
        { "write -q 32k 128k", 24, 1UL << 32, "read 0 192k" },
        { "write -q 32k 128k", 24, 1UL << 32, "write 0 192k" },
        { "write -q 256k 1k", 8, 1UL, "read 0 1k" },
        { "write -q 256k 1k", 8, 1UL, "write 0 1k" },
        { "write -q 256k 1k", 24, (1UL << 32) | 1, "read 0 192k" },
        { "write -q -P 1 4k 2k", 0, 0x200UL, "read -q 0 2k" },
    };

    [Theory]
    [MemberData(nameof(CorruptEntries))]
    public void A_corrupt_entry_is_reported_as_qemu_io_reports_it(string setup, long entryOffset, ulong bits, string command)
    {
        using var dir = new TempDirectory();
        var theirs = Make(dir, "theirs.qcow2", backing: false);
        var ours = Make(dir, "ours.qcow2", backing: false);
        foreach (var path in new[] { theirs, ours })
        {
            ExternalTool.QemuIo("-f", "qcow2", "-c", setup, path);
            var at = L2Offset(path) + entryOffset;
            Poke(path, at, ReadEntry(path, at) | bits);
        }

        var expected = ExternalTool.Run("qemu-io", "-f", "qcow2", "-c", command, theirs);
        var actual = Diskimg.Run("io", "-f", "qcow2", "-c", command, ours);

        Assert.Contains("Marking image as corrupt", expected.StdErr + expected.StdOut, StringComparison.Ordinal);
        Assert.Equal(QemuToolOutput.Normalise(expected.StdErr, theirs), QemuToolOutput.Normalise(actual.StdErr, ours));
        Assert.Equal(QemuToolOutput.Normalise(expected.StdOut, theirs), QemuToolOutput.Normalise(actual.StdOut, ours));
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        // Both mark the image corrupt in its header.
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", theirs).Contains("\"corrupt\": true", StringComparison.Ordinal),
            ExternalTool.QemuImg("info", "--output=json", ours).Contains("\"corrupt\": true", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("write -q -P 1 4k 2k;write -q -z 4k 2k")]
    [InlineData("write -q -P 1 4k 2k")]
    public void Repairing_an_unaligned_entry_reports_and_repairs_as_qemu_img_does(string setup)
    {
        // Without allocated subclusters the entry is repaired and the backing file's data stays visible around the
        // zero subcluster; with one it cannot be, and the refcount rebuild's second pass reports it again.
        using var dir = new TempDirectory();
        var theirs = Make(dir, "theirs.qcow2", backing: true);
        var ours = Make(dir, "ours.qcow2", backing: true);
        foreach (var path in new[] { theirs, ours })
        {
            ExternalTool.QemuIo(["-f", "qcow2", .. setup.Split(';').SelectMany(c => new[] { "-c", c }), path]);
            var l2 = L2Offset(path);
            Poke(path, l2, ReadEntry(path, l2) | 0x200);
        }

        var expected = ExternalTool.Run("qemu-img", "check", "-r", "all", theirs);
        var actual = Diskimg.Run("check", "-r", "all", ours);

        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(QemuToolOutput.Normalise(expected.StdErr), QemuToolOutput.Normalise(actual.StdErr));
        Assert.Equal(expected.StdOut, actual.StdOut);
        Assert.Equal(L2Table(theirs), L2Table(ours));
        if (setup.Contains("-z", StringComparison.Ordinal))
        {
            Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
        }
    }

    [Fact]
    public void Writing_to_a_cluster_shared_with_a_snapshot_copies_what_qemu_copies()
    {
        // QEMU's test 271: the new cluster gets the span from the first allocated (or written) subcluster to the last,
        // all of it allocated; zero subclusters outside the span stay zero. Zero writes only set bits.
        using var dir = new TempDirectory();
        var theirs = Make(dir, "theirs.qcow2", backing: false);
        var ours = Make(dir, "ours.qcow2", backing: false);
        string[] commands =
        [
            "write -q -P 0xf0 30k 1k", "write -q -P 0xf1 84k 1k", "write -q -P 0xf2 168k 1k", "write -q -P 0xf3 218k 1k",
            "write -q -P 0xf4 270k 1k", "write -q -P 0xf5 321k 1k", "write -q -z 414k 3k", "write -q -z 474k 2k",
        ];
        foreach (var path in new[] { theirs, ours })
        {
            for (var c = 0; c < 8; c++)
            {
                ExternalTool.QemuIo("-f", "qcow2", "-c", $"write -q -z {(64 * c) + 14}k 2k", "-c", $"write -q -P {0xd0 + c} {(64 * c) + 26}k 2k",
                    "-c", $"write -q -P {0xe0 + c} {(64 * c) + 36}k 2k", path);
            }

            ExternalTool.QemuImg("snapshot", "-c", "snap1", path);
        }

        ExternalTool.QemuIo(["-f", "qcow2", .. commands.SelectMany(c => new[] { "-c", c }), theirs]);
        Diskimg.Ok(["io", "-f", "qcow2", .. commands.SelectMany(c => new[] { "-c", c }), ours]);

        Assert.Equal(L2Table(theirs), L2Table(ours));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
    }

    private static string Compress(params int[] clusters) =>
        string.Concat(clusters.Select(c => $"write -c -P {c} {c * 64}k 64k;"));

    private static string Make(TempDirectory dir, string name, bool backing)
    {
        var path = dir.File(name);
        if (!backing)
        {
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", path, Size);
            return path;
        }

        var basePath = dir.File("base-" + name);
        ExternalTool.QemuImg("create", "-q", "-f", "raw", basePath, Size);
        ExternalTool.QemuIo("-f", "raw", "-c", $"write -q -P 0xff 0 {Size}", basePath);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", "-b", basePath, "-F", "raw", path, Size);
        return path;
    }

    /// <summary>The host offset of the first L2 table, from the first L1 entry.</summary>
    private static long L2Offset(string path)
    {
        var header = new byte[48];
        using var file = File.OpenRead(path);
        file.ReadExactly(header);
        var l1 = (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(40));
        var entry = new byte[8];
        file.Position = l1;
        file.ReadExactly(entry);
        return (long)(BinaryPrimitives.ReadUInt64BigEndian(entry) & 0x00FFFFFFFFFFFE00UL);
    }

    private static string Map(string path, bool offsets)
    {
        var map = ExternalTool.QemuImg("map", "--output=json", path).Replace(path, "IMG", StringComparison.Ordinal);
        return offsets ? map : System.Text.RegularExpressions.Regex.Replace(map, @", ""offset"": \d+", "");
    }

    /// <summary>The first L2 table's entries and bitmaps (33 clusters of a 2083k image, 16 bytes each).</summary>
    private static string L2Table(string path, bool offsets = true)
    {
        var table = new byte[33 * 16];
        using (var file = File.OpenRead(path))
        {
            file.Position = L2Offset(path);
            file.ReadExactly(table);
        }

        return string.Join('\n', Enumerable.Range(0, 33).Select(i =>
            $"#{i}: {BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan(i * 16)) & (offsets ? ulong.MaxValue : 0xFF000000000001FFUL):x16} {BinaryPrimitives.ReadUInt64BigEndian(table.AsSpan((i * 16) + 8)):x16}"));
    }

    private static ulong ReadEntry(string path, long offset)
    {
        var bytes = new byte[8];
        using var file = File.OpenRead(path);
        file.Position = offset;
        file.ReadExactly(bytes);
        return BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    private static void Poke(string path, long offset, ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        using var file = File.OpenWrite(path);
        file.Position = offset;
        file.Write(bytes);
    }
}
