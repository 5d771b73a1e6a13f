using CsCheck;
using DiskImage.Formats;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Reliability;

/// <summary>
/// Model-based test: random sequences of operations on a qcow2 image, checked step by step against a
/// plain byte array, then by our own <c>check</c>. Seeded (CsCheck prints the seed of any failure and
/// shrinks it to a minimal sequence); <c>DISKIMG_MODEL_ITERATIONS</c> raises the budget for long local runs.
/// </summary>
public class Qcow2ModelTests
{
    private static readonly int s_iterations =
        int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_MODEL_ITERATIONS"), out var n) ? n : 60;

    [Fact]
    public void Random_operation_sequences_match_the_model()
    {
        Gen.Select(Qcow2Model.Configs, Qcow2Model.Operations.List[1, 40])
            .Sample((config, ops) =>
            {
                using var dir = new TempDirectory();
                Qcow2Model.Run(config, ops, dir.Path);
            }, iter: s_iterations, threads: 1, seed: "0000DiskImg01");
    }

    [Fact]
    public void Growing_after_a_shrink_to_mid_cluster_reads_zeroes_in_the_cut_tail()
    {
        // A shrink keeps the cluster it cuts; its old bytes past the cut must not come back on growth.
        using var dir = new TempDirectory();
        var config = new Qcow2Model.Config(16, 16, 3, Lazy: false, ExtendedL2: false, Zstd: false, Backing: false, SizeClusters: 4);
        Qcow2Model.Run(config, [new Qcow2Model.WriteOp(0, 65535, 0x11), new Qcow2Model.ResizeOp(100, ClusterAligned: false), new Qcow2Model.ResizeOp(900, ClusterAligned: true)], dir.Path);
    }

    [Theory]
    [InlineData(2, false, Preallocation.Off)]
    [InlineData(3, false, Preallocation.Off)]
    [InlineData(2, true, Preallocation.Off)]
    [InlineData(3, true, Preallocation.Full)]
    public void Discards_on_overlays_keep_what_qemu_keeps(int version, bool encrypted, Preallocation preallocation)
    {
        // Version 2 overlays discard nothing (the backing file would show through); partial clusters keep their data.
        using var dir = new TempDirectory();
        var extendedL2 = preallocation != Preallocation.Off; // qemu-img preallocates overlays only with extended L2
        var config = new Qcow2Model.Config(14, 16, version, Lazy: false, extendedL2, Zstd: false, Backing: true, SizeClusters: 32, encrypted, preallocation);
        Qcow2Model.Run(config, [new Qcow2Model.WriteOp(0, 65535, 0x01), new Qcow2Model.DiscardOp(1, 3), new Qcow2Model.UnalignedDiscardOp(1000, 40), new Qcow2Model.ReadOp(0, 65535)], dir.Path);
    }

    [Theory]
    [InlineData(2, Preallocation.Metadata)]
    [InlineData(3, Preallocation.Metadata)]
    [InlineData(3, Preallocation.Falloc)]
    [InlineData(2, Preallocation.Full)]
    public void Preallocated_encrypted_images_read_zeroes_until_written(int version, Preallocation preallocation)
    {
        using var dir = new TempDirectory();
        var config = new Qcow2Model.Config(16, 16, version, Lazy: false, ExtendedL2: false, Zstd: false, Backing: false, SizeClusters: 8, Encrypted: true, preallocation);
        Qcow2Model.Run(config, [new Qcow2Model.ReadOp(0, 65535), new Qcow2Model.WriteOp(5000, 3, 0x44), new Qcow2Model.ResizeOp(900, ClusterAligned: false), new Qcow2Model.ConvertOp(false)], dir.Path);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Growing_an_overlay_hides_the_longer_backing_file(int version)
    {
        // The backing file covers half the disk; after a shrink to a quarter, growth must not expose it again.
        using var dir = new TempDirectory();
        var config = new Qcow2Model.Config(12, 16, version, Lazy: false, ExtendedL2: false, Zstd: false, Backing: true, SizeClusters: 32);
        Qcow2Model.Run(config, [new Qcow2Model.ResizeOp(125, ClusterAligned: true), new Qcow2Model.ResizeOp(500, ClusterAligned: true)], dir.Path);
    }
}
