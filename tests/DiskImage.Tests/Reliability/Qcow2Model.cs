using CsCheck;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Raw;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Reliability;

/// <summary>
/// Model-based test: random sequences of operations on a qcow2 image, checked step by step against a
/// plain byte array. Seeded (CsCheck prints the seed of any failure and shrinks it to a minimal
/// sequence); <c>DISKIMG_MODEL_ITERATIONS</c> raises the budget for long local runs.
/// </summary>
public class Qcow2ModelTests
{
    private static readonly int s_iterations =
        int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_MODEL_ITERATIONS"), out var n) ? n : 60;

    /// <summary>The shape of the image under test.</summary>
    public sealed record Config(int ClusterBits, int RefcountBits, int Version, bool Lazy, bool ExtendedL2, bool Zstd, bool Backing, int SizeClusters)
    {
        public int ClusterSize => 1 << ClusterBits;

        public long Size => (long)SizeClusters * ClusterSize;

        public override string ToString() =>
            $"cluster={ClusterSize} refcount_bits={RefcountBits} v{Version} lazy={Lazy} extl2={ExtendedL2} zstd={Zstd} backing={Backing} size={Size}";
    }

    /// <summary>One step of a sequence. Offsets and lengths are fractions of the image, resolved against the config.</summary>
    public abstract record Op;

    public sealed record WriteOp(int Start, int Length, byte Pattern) : Op;

    public sealed record ZeroOp(int Start, int Length, bool MayUnmap) : Op;

    public sealed record DiscardOp(int Cluster, int Clusters) : Op;

    public sealed record CompressedOp(int Cluster, byte Pattern) : Op;

    public sealed record ReadOp(int Start, int Length) : Op;

    public sealed record FlushOp : Op;

    public sealed record ReopenOp : Op;

    public sealed record SnapshotCreateOp(int Slot) : Op;

    public sealed record SnapshotApplyOp(int Slot) : Op;

    public sealed record SnapshotDeleteOp(int Slot) : Op;

    private static readonly Gen<Config> s_config =
        from clusterBits in Gen.OneOf(9, 12, 14, 16)
        from refcountBits in Gen.OneOf(1, 2, 8, 16, 64)
        from version in Gen.OneOf(2, 3, 3)
        from lazy in Gen.Bool
        from extendedL2 in Gen.Bool
        from zstd in Gen.Bool
        from backing in Gen.Bool
        from sizeClusters in Gen.Int[4, 48]
        select new Config(
            clusterBits,
            version == 2 ? 16 : refcountBits,
            version,
            version == 3 && lazy,
            version == 3 && extendedL2 && clusterBits >= 14,
            version == 3 && zstd,
            backing,
            sizeClusters);

    // Positions are in 512-byte sectors over a 64-cluster span, clipped to the image when applied.
    private static readonly Gen<Op> s_op = Gen.Frequency(
        (8, from s in Gen.Int[0, 4095] from l in Gen.Int[1, 300] from p in Gen.Byte[1, 255] select (Op)new WriteOp(s, l, p)),
        (2, from s in Gen.Int[0, 4095] from l in Gen.Int[1, 300] from u in Gen.Bool select (Op)new ZeroOp(s, l, u)),
        (2, from c in Gen.Int[0, 63] from k in Gen.Int[1, 4] select (Op)new DiscardOp(c, k)),
        (2, from c in Gen.Int[0, 63] from p in Gen.Byte[1, 255] select (Op)new CompressedOp(c, p)),
        (3, from s in Gen.Int[0, 4095] from l in Gen.Int[1, 300] select (Op)new ReadOp(s, l)),
        (1, Gen.Const((Op)new FlushOp())),
        (1, Gen.Const((Op)new ReopenOp())),
        (1, from s in Gen.Int[0, 2] select (Op)new SnapshotCreateOp(s)),
        (1, from s in Gen.Int[0, 2] select (Op)new SnapshotApplyOp(s)),
        (1, from s in Gen.Int[0, 2] select (Op)new SnapshotDeleteOp(s)));

    [Fact]
    public void Random_operation_sequences_match_the_model()
    {
        Gen.Select(s_config, s_op.List[1, 40])
            .Sample((config, ops) => Run(config, ops), iter: s_iterations, threads: 1, seed: "0000DiskImg01");
    }

    /// <summary>Runs one sequence; throws (failing the sample) on the first divergence from the model.</summary>
    internal static void Run(Config config, List<Op> ops)
    {
        using var dir = new TempDirectory();
        var path = dir.File("model.qcow2");
        var model = new byte[config.Size];
        var snapshots = new Dictionary<int, byte[]>();
        var backingBytes = Array.Empty<byte>();
        if (config.Backing)
        {
            // A backing file shorter than the overlay: the part past its end reads as zeroes.
            backingBytes = new byte[config.Size / 2 / 512 * 512];
            new Random(config.GetHashCode()).NextBytes(backingBytes);
            var backingPath = dir.File("base.raw");
            RawFormat.Instance.Create(backingPath, new RawCreateOptions { Size = backingBytes.Length });
            using (var backing = ImageFormatRegistry.Default.Open(backingPath, "raw", new ImageOpenOptions { ReadOnly = false }))
            {
                backing.Write(0, backingBytes);
            }

            backingBytes.CopyTo(model, 0);
        }

        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions
        {
            Size = config.Size,
            Version = config.Version,
            ClusterSize = config.ClusterSize,
            RefcountBits = config.RefcountBits,
            LazyRefcounts = config.Lazy,
            ExtendedL2 = config.ExtendedL2,
            CompressionType = config.Zstd ? Qcow2CompressionType.Zstd : Qcow2CompressionType.Zlib,
            BackingFile = config.Backing ? "base.raw" : null,
            BackingFormat = config.Backing ? "raw" : null,
        });

        var image = (Qcow2Image)ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false });
        try
        {
            var step = 0;
            foreach (var op in ops)
            {
                step++;
                var where = $"{config}, step {step} {op}";
                Apply(ref image, path, config, op, ref model, snapshots, backingBytes, where);
            }

            image.Dispose();
            image = (Qcow2Image)ImageFormatRegistry.Default.Open(path, "qcow2");
            AssertReads(image, model, 0, model.Length, $"{config}, after reopen");
        }
        finally
        {
            image.Dispose();
        }
    }

    private static void Apply(ref Qcow2Image image, string path, Config config, Op op, ref byte[] model, Dictionary<int, byte[]> snapshots, byte[] backing, string where)
    {
        var size = model.Length;
        switch (op)
        {
            case WriteOp w:
            {
                var (offset, length) = Clip(w.Start, w.Length, size);
                var data = new byte[length];
                for (var i = 0; i < length; i++)
                {
                    data[i] = (byte)(w.Pattern + (i / 512));
                }

                image.Write(offset, data);
                data.CopyTo(model, offset);
                break;
            }

            case ZeroOp z:
            {
                var (offset, length) = Clip(z.Start, z.Length, size);
                image.WriteZeroes(offset, length, z.MayUnmap);
                Array.Clear(model, (int)offset, length);
                break;
            }

            case DiscardOp d:
            {
                var clusters = size / config.ClusterSize;
                var first = d.Cluster % clusters;
                var count = Math.Min(d.Clusters, clusters - first);
                long offset = (long)first * config.ClusterSize;
                var length = count * config.ClusterSize;
                image.Discard(offset, length);
                // Version 3 leaves zero clusters over a backing file; version 2 can only deallocate.
                for (var i = offset; i < offset + length; i++)
                {
                    model[i] = config.Version == 2 && i < backing.Length ? backing[i] : (byte)0;
                }

                break;
            }

            case CompressedOp c:
            {
                var cluster = c.Cluster % (size / config.ClusterSize);
                var data = new byte[config.ClusterSize];
                for (var i = 0; i < data.Length; i++)
                {
                    data[i] = (byte)(c.Pattern ^ (i % 7 == 0 ? i : 0));
                }

                var output = new byte[config.ClusterSize];
                var offset = (long)cluster * config.ClusterSize;
                if (image.TryCompressCluster(data, output, out var written))
                {
                    image.WriteCompressedCluster(offset, output.AsSpan(0, written));
                }
                else
                {
                    image.Write(offset, data);
                }

                data.CopyTo(model, offset);
                break;
            }

            case ReadOp r:
            {
                var (offset, length) = Clip(r.Start, r.Length, size);
                AssertReads(image, model, offset, length, where);
                break;
            }

            case FlushOp:
                image.Flush();
                break;

            case ReopenOp:
                image.Dispose();
                image = (Qcow2Image)ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false });
                AssertReads(image, model, 0, size, where);
                break;

            case SnapshotCreateOp s:
                if (!snapshots.ContainsKey(s.Slot))
                {
                    try
                    {
                        image.CreateSnapshot($"s{s.Slot}", DateTimeOffset.UnixEpoch);
                        snapshots[s.Slot] = (byte[])model.Clone();
                    }
                    catch (UnsupportedFeatureException) when (config.RefcountBits <= 2)
                    {
                        // As in QEMU: 1- and 2-bit refcounts overflow once clusters are shared (compressed
                        // clusters already share host clusters); the snapshot is refused, the image unchanged.
                        AssertReads(image, model, 0, model.Length, where);
                    }
                }

                break;

            case SnapshotApplyOp s:
                if (snapshots.TryGetValue(s.Slot, out var saved))
                {
                    try
                    {
                        image.ApplySnapshot(new Qcow2SnapshotSelector { Name = $"s{s.Slot}" });
                        model = (byte[])saved.Clone();
                    }
                    catch (UnsupportedFeatureException) when (config.RefcountBits <= 2)
                    {
                        // Refcount overflow, as for create: refused before anything changed.
                    }

                    AssertReads(image, model, 0, model.Length, where);
                }

                break;

            case SnapshotDeleteOp s:
                if (snapshots.Remove(s.Slot))
                {
                    image.DeleteSnapshot(new Qcow2SnapshotSelector { Name = $"s{s.Slot}" });
                    AssertReads(image, model, 0, model.Length, where);
                }

                break;
        }
    }

    private static (long Offset, int Length) Clip(int startSector, int sectors, int size)
    {
        var offset = (long)startSector * 512 % size;
        var length = (int)Math.Min((long)sectors * 512, size - offset);
        return (offset, length);
    }

    private static void AssertReads(Qcow2Image image, byte[] model, long offset, int length, string where)
    {
        var actual = new byte[length];
        image.Read(offset, actual);
        var expected = model.AsSpan((int)offset, length);
        var mismatch = expected.CommonPrefixLength(actual);
        if (mismatch != length)
        {
            throw new InvalidOperationException(
                $"{where}: byte {offset + mismatch} reads 0x{actual[mismatch]:x2}, model has 0x{expected[mismatch]:x2}");
        }
    }
}
