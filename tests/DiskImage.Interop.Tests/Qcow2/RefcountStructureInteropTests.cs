using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// How the refcount structures change shape, compared with qemu-io/qemu-img 7.2 doing the same on identical images:
/// a full refcount table that grows while writing (where the new table and blocks go, how large the table becomes),
/// and a shrink that leaves refcount blocks counting nothing (QEMU drops them from the table).
/// </summary>
public class RefcountStructureInteropTests
{
    /// <summary>
    /// Small clusters and wide refcounts make one table cluster cover little, so these writes outgrow the table,
    /// some of them more than once; the layout that results (end offset, mapping, table) must be qemu-io's.
    /// </summary>
    [Theory]
    [InlineData("cluster_size=512,refcount_bits=64", "16M", new[] { "write 0 3M" })]
    [InlineData("cluster_size=512,refcount_bits=64", "16M", new[] { "write 0 1M", "write 8M 1536k", "write 4M 3M" })]
    [InlineData("cluster_size=512,refcount_bits=16", "64M", new[] { "write 1M 9M", "write 30M 1M" })]
    [InlineData("cluster_size=1k,refcount_bits=64", "64M", new[] { "write -P 7 2M 12M", "discard 2M 4M", "write 40M 8M" })]
    public void Full_refcount_table_grows_as_qemu_io_grows_it(string options, string size, string[] writes)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", options, theirs, size);
        File.Copy(theirs, ours);
        var tableBefore = ReftableClusters(theirs);

        foreach (var write in writes)
        {
            ExternalTool.QemuIo("-c", write, theirs);
            Diskimg.Ok("io", "-c", write, ours);
        }

        // The case is only worth its name when qemu-io had to move the table.
        Assert.NotEqual(tableBefore, ReftableClusters(theirs));
        AssertSameLayout(theirs, ours);
    }

    /// <summary>
    /// 044's own shape, scaled down: a refcount table that counts every cluster of a file that is already full, so
    /// the first new cluster needs a table entry that does not exist; the new structures start at the next block
    /// boundary and the old table's clusters are reused.
    /// </summary>
    [Fact]
    public void Table_full_to_the_last_cluster_grows_as_qemu_io_grows_it()
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=512,refcount_bits=64", theirs, "8M");
        // One table cluster of 64 blocks, 64 clusters each: 2 MiB of file. Fill it to the last counted cluster.
        ExternalTool.QemuIo("-c", "write -P 3 0 1900k", theirs);
        var clustersLeft = (2 * 1024 * 1024 - new FileInfo(theirs).Length) / 512;
        Assert.True(clustersLeft > 0);
        Assert.Equal(1, ReftableClusters(theirs));
        File.Copy(theirs, ours);

        foreach (var write in new[] { $"write -P 4 4M {clustersLeft * 512 + 4096}", "write -P 5 6M 64k" })
        {
            ExternalTool.QemuIo("-c", write, theirs);
            Diskimg.Ok("io", "-c", write, ours);
        }

        Assert.NotEqual(1, ReftableClusters(theirs));
        AssertSameLayout(theirs, ours);
    }

    /// <summary>
    /// Data written to the image's end first lands at low host offsets; after a shrink cuts it off, the refcount
    /// blocks that counted only those clusters count nothing, and qemu-img's shrink removes them from the table.
    /// </summary>
    [Theory]
    [InlineData("cluster_size=512,refcount_bits=64", "3M", "1M", new[] { "write -P 1 2M 256k", "write -P 2 2816k 256k", "write -P 3 0 1M", "write -P 4 1280k 256k" })]
    [InlineData("cluster_size=512,refcount_bits=64", "3M", "1M", new[] { "write -P 1 1536k 1536k", "write -P 2 0 1M" })]
    [InlineData("cluster_size=1k,refcount_bits=64", "8M", "2M", new[] { "write -P 1 6M 2M", "write -P 2 0 2M", "write -P 3 4M 512k" })]
    public void Shrink_drops_refcount_blocks_that_count_nothing_as_qemu_img_does(string options, string size, string newSize, string[] writes)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", options, theirs, size);
        foreach (var write in writes)
        {
            ExternalTool.QemuIo("-c", write, theirs);
        }

        File.Copy(theirs, ours);
        var blocksBefore = UsedReftableEntries(theirs);

        ExternalTool.QemuImg("resize", "-q", "--shrink", theirs, newSize);
        Diskimg.Ok("resize", "-q", "--shrink", ours, newSize);

        // qemu-img must have dropped at least one block for the case to test anything.
        Assert.True(UsedReftableEntries(theirs) < blocksBefore);
        Assert.Equal(ReftableEntries(theirs), ReftableEntries(ours));
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        AssertSameLayout(theirs, ours);
        // No block left in the table is all zeroes (the condition QEMU's shrink test looks for).
        foreach (var entry in ReftableEntries(ours).Where(e => e != 0))
        {
            Assert.Contains(ReadCluster(ours, (long)entry, 1 << ClusterBits(ours)), b => b != 0);
        }

        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
    }

    private static void AssertSameLayout(string theirs, string ours)
    {
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        foreach (var verb in new[] { "check", "map" })
        {
            Assert.Equal(ExternalTool.QemuImg(verb, "--output=json", theirs).Replace(theirs, "IMG", StringComparison.Ordinal),
                ExternalTool.QemuImg(verb, "--output=json", ours).Replace(ours, "IMG", StringComparison.Ordinal));
        }

        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", theirs).Replace(theirs, "IMG", StringComparison.Ordinal)
                .Split('\n').Where(l => !l.Contains("actual-size", StringComparison.Ordinal)),
            ExternalTool.QemuImg("info", "--output=json", ours).Replace(ours, "IMG", StringComparison.Ordinal)
                .Split('\n').Where(l => !l.Contains("actual-size", StringComparison.Ordinal)));
        Assert.Equal(ReftableEntries(theirs), ReftableEntries(ours));
        Assert.Equal(ReadHeader(theirs, 48, 12), ReadHeader(ours, 48, 12));
    }

    private static int ClusterBits(string path) => (int)BinaryPrimitives.ReadUInt32BigEndian(ReadHeader(path, 20, 4));

    private static int ReftableClusters(string path) => (int)BinaryPrimitives.ReadUInt32BigEndian(ReadHeader(path, 56, 4));

    private static int UsedReftableEntries(string path) => ReftableEntries(path).Count(e => e != 0);

    private static ulong[] ReftableEntries(string path)
    {
        var offset = (long)BinaryPrimitives.ReadUInt64BigEndian(ReadHeader(path, 48, 8));
        var bytes = ReftableClusters(path) << ClusterBits(path);
        var raw = ReadCluster(path, offset, bytes);
        return [.. Enumerable.Range(0, bytes / 8).Select(i => BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(i * 8)))];
    }

    private static byte[] ReadHeader(string path, long position, int length) => ReadCluster(path, position, length);

    private static byte[] ReadCluster(string path, long position, int length)
    {
        var raw = new byte[length];
        using var file = File.OpenRead(path);
        file.Position = position;
        file.ReadExactly(raw);
        return raw;
    }
}
