using CsCheck;
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
