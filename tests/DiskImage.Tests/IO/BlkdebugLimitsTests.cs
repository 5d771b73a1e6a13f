using DiskImage.IO.Blkdebug;

namespace DiskImage.Tests.IO;

/// <summary>
/// How a blkdebug node's limits split write-zeroes and discard requests, checked against QEMU 7.2's results in iotest
/// 204 (its <c>qemu-img map</c> after each request through <c>driver=blkdebug,image.driver=qcow2</c> with 1 MiB
/// clusters) and against the limits QEMU's blkdebug_open refuses.
/// </summary>
public class BlkdebugLimitsTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public void Write_zeroes_shorter_than_a_non_power_of_two_alignment_are_written_as_data()
    {
        // 204: `write -z 32M 32M` with opt-write-zero=max-write-zero=15M leaves 32M-45M and 60M-64M as data and
        // 45M-60M as zero clusters.
        var limits = BlkdebugLimits.Create(new Dictionary<string, long> { ["align"] = 512, ["opt-write-zero"] = 15 * MiB, ["max-write-zero"] = 15 * MiB }, out var complaint);

        Assert.Null(complaint);
        Assert.Equal(new (long, long, bool)[] { (32 * MiB, 13 * MiB, false), (45 * MiB, 15 * MiB, true), (60 * MiB, 4 * MiB, false) }, limits.SplitWriteZeroes(32 * MiB, 32 * MiB).Select(p => (p.Offset, p.Length, p.Zeroes)));
    }

    [Fact]
    public void Write_zeroes_around_one_aligned_cluster_zero_only_that_cluster()
    {
        // 204: `write -z 8003584 2093056` with opt-write-zero=1M leaves only 8M-9M as a zero cluster; the rest is
        // written in max-transfer (64 KiB) pieces.
        var limits = BlkdebugLimits.Create(new Dictionary<string, long> { ["align"] = 512, ["max-transfer"] = 65536, ["opt-write-zero"] = MiB }, out _);

        var pieces = limits.SplitWriteZeroes(8003584, 2093056);

        Assert.Equal(new (long, long)[] { (8 * MiB, MiB) }, pieces.Where(p => p.Zeroes).Select(p => (p.Offset, p.Length)));
        Assert.All(pieces.Where(p => !p.Zeroes), p => Assert.InRange(p.Length, 1, 65536));
        Assert.Equal(2093056L, pieces.Sum(p => p.Length));
        Assert.Equal(8003584 + 2093056, pieces[^1].Offset + pieces[^1].Length);
    }

    [Fact]
    public void A_discard_reaches_the_format_in_pieces_covering_the_same_whole_clusters()
    {
        // 204: `discard 80000001 30M` with opt-discard=max-discard=15M zeroes 77M-106M.
        var limits = BlkdebugLimits.Create(new Dictionary<string, long> { ["align"] = 512, ["opt-discard"] = 15 * MiB, ["max-discard"] = 15 * MiB }, out _);

        var pieces = limits.SplitDiscard(80000001, 30 * MiB, MiB);

        var wholeClusters = pieces.SelectMany(p => Enumerable.Range(0, 128).Where(c => c * MiB >= p.Offset && (c + 1) * MiB <= p.Offset + p.Length)).ToList();
        Assert.Equal(Enumerable.Range(77, 29), wholeClusters);
        Assert.All(pieces, p => Assert.Equal(0, p.Offset % 512));
    }

    [Theory]
    [InlineData("align", 3L, "Cannot meet constraints with align 3")]
    [InlineData("max-transfer", 1000L, "Cannot meet constraints with max-transfer 1000")]
    [InlineData("max-write-zero", 98304L, null)]
    [InlineData("max-discard", 2147483648L, "Cannot meet constraints with max-discard 2147483648")]
    public void Limits_qemu_refuses_are_refused_with_its_message(string key, long value, string? expected)
    {
        // With align=512: QEMU checks the sizes against the node's alignment (the host file's own is 1 byte).
        BlkdebugLimits.Create(new Dictionary<string, long> { ["align"] = 512, [key] = value }, out var complaint);

        Assert.Equal(expected, complaint);
    }
}
