using CsCheck;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Raw;
using DiskImage.Operations.Check;
using DiskImage.Operations.Conversion;

namespace DiskImage.Tests.Reliability;

/// <summary>
/// The qcow2 model: random layouts and operation sequences, and a runner that applies them to an image
/// and to a plain byte array side by side, failing on the first divergence. Shared by the unit suite
/// (judged by our own check) and the interop suite (judged by qemu-img check and compare).
/// </summary>
public static class Qcow2Model
{
    /// <summary>The shape of the image under test.</summary>
    public sealed record Config(
        int ClusterBits, int RefcountBits, int Version, bool Lazy, bool ExtendedL2, bool Zstd, bool Backing, int SizeClusters,
        bool Encrypted = false, Preallocation Preallocation = Preallocation.Off)
    {
        public int ClusterSize => 1 << ClusterBits;

        public long Size => (long)SizeClusters * ClusterSize;

        public override string ToString() =>
            $"cluster={ClusterSize} refcount_bits={RefcountBits} v{Version} lazy={Lazy} extl2={ExtendedL2} zstd={Zstd} backing={Backing} size={Size} " +
            $"encrypted={Encrypted} preallocation={Preallocation}";
    }

    /// <summary>The id and passphrase of the LUKS secret of encrypted configurations.</summary>
    public const string SecretId = "model-secret";

    public const string Passphrase = "model-passphrase";

    /// <summary>Options that open an encrypted model image (ignored by plain ones).</summary>
    public static ImageOpenOptions OpenOptions(bool readOnly) => new()
    {
        ReadOnly = readOnly,
        SecretProvider = id => id == SecretId ? System.Text.Encoding.UTF8.GetBytes(Passphrase) : null,
        KeySecret = SecretId,
    };

    /// <summary>One step of a sequence. Positions are fractions of the image, resolved when applied.</summary>
    public abstract record Op;

    /// <summary>Writes <paramref name="Sectors"/> sectors at <paramref name="Start"/>/65536 of the image.</summary>
    public sealed record WriteOp(int Start, int Sectors, byte Pattern) : Op;

    public sealed record ZeroOp(int Start, int Sectors, bool MayUnmap) : Op;

    public sealed record DiscardOp(int Cluster, int Clusters) : Op;

    /// <summary>A discard at sector granularity: only the whole clusters inside it go (QEMU's rule).</summary>
    public sealed record UnalignedDiscardOp(int Start, int Sectors) : Op;

    public sealed record CompressedOp(int Cluster, byte Pattern) : Op;

    public sealed record ReadOp(int Start, int Sectors) : Op;

    public sealed record FlushOp : Op;

    public sealed record ReopenOp : Op;

    public sealed record SnapshotCreateOp(int Slot) : Op;

    public sealed record SnapshotApplyOp(int Slot) : Op;

    public sealed record SnapshotDeleteOp(int Slot) : Op;

    /// <summary>Resizes to <paramref name="Permille"/>/1000 of twice the initial size (shrinking or growing).</summary>
    public sealed record ResizeOp(int Permille, bool ClusterAligned) : Op;

    /// <summary>Converts the image to a new qcow2 of the same layout (compressed with <c>-c</c> when asked) and goes on with that.</summary>
    public sealed record ConvertOp(bool Compress) : Op;

    // Large clusters get fewer of them, so no image exceeds 32 MiB.
    public static readonly Gen<Config> Configs =
        from clusterBits in Gen.OneOf(9, 12, 14, 16, 16, 20, 21)
        from refcountBits in Gen.OneOf(1, 2, 8, 16, 64)
        from version in Gen.OneOf(2, 3, 3)
        from lazy in Gen.Bool
        from extendedL2 in Gen.Bool
        from zstd in Gen.Bool
        from backing in Gen.Bool
        from sizeClusters in Gen.Int[4, 48]
        from encrypted in Gen.Frequency((3, Gen.Const(false)), (1, Gen.Const(true)))
        from preallocation in Gen.Frequency((4, Gen.Const(Preallocation.Off)), (1, Gen.Const(Preallocation.Metadata)), (1, Gen.Const(Preallocation.Falloc)), (1, Gen.Const(Preallocation.Full)))
        select new Config(
            clusterBits,
            version == 2 ? 16 : refcountBits,
            version,
            version == 3 && lazy,
            version == 3 && extendedL2 && clusterBits >= 14,
            version == 3 && zstd,
            backing,
            Math.Min(sizeClusters, (32 << 20) >> clusterBits),
            // LUKS needs room for its area; tiny clusters would make it thousands of them.
            encrypted && clusterBits >= 12,
            // As qemu-img: an overlay is preallocated only with extended L2 entries (its subclusters stay unallocated).
            backing && !(version == 3 && extendedL2 && clusterBits >= 14) ? Preallocation.Off : preallocation);

    private static readonly Gen<int> s_sectors = Gen.Frequency((6, Gen.Int[1, 300]), (1, Gen.Int[1, 8192]));

    public static readonly Gen<Op> Operations = Gen.Frequency(
        (8, from s in Gen.Int[0, 65535] from l in s_sectors from p in Gen.Byte[1, 255] select (Op)new WriteOp(s, l, p)),
        (2, from s in Gen.Int[0, 65535] from l in s_sectors from u in Gen.Bool select (Op)new ZeroOp(s, l, u)),
        (2, from c in Gen.Int[0, 63] from k in Gen.Int[1, 4] select (Op)new DiscardOp(c, k)),
        (1, from s in Gen.Int[0, 65535] from l in s_sectors select (Op)new UnalignedDiscardOp(s, l)),
        (2, from c in Gen.Int[0, 63] from p in Gen.Byte[1, 255] select (Op)new CompressedOp(c, p)),
        (3, from s in Gen.Int[0, 65535] from l in s_sectors select (Op)new ReadOp(s, l)),
        (1, Gen.Const((Op)new FlushOp())),
        (1, Gen.Const((Op)new ReopenOp())),
        (1, from s in Gen.Int[0, 2] select (Op)new SnapshotCreateOp(s)),
        (1, from s in Gen.Int[0, 2] select (Op)new SnapshotApplyOp(s)),
        (1, from s in Gen.Int[0, 2] select (Op)new SnapshotDeleteOp(s)),
        (1, from p in Gen.Int[1, 1000] from a in Gen.Bool select (Op)new ResizeOp(p, a)),
        (1, from c in Gen.Bool select (Op)new ConvertOp(c)));

    /// <summary>What a finished run leaves: the image (closed) and the bytes it must hold.</summary>
    public sealed record Outcome(string ImagePath, byte[] Expected);

    /// <summary>
    /// Runs one sequence in <paramref name="directory"/>; throws (failing the sample) on the first
    /// divergence from the model, or when our check finds the finished image unclean.
    /// </summary>
    public static Outcome Run(Config config, IReadOnlyList<Op> ops, string directory)
    {
        var state = new State(config, directory);
        try
        {
            var step = 0;
            foreach (var op in ops)
            {
                step++;
                state.Apply(op, $"{state.Config}, step {step} {op}");
            }

            state.Reopen(readOnly: true, $"{state.Config}, after the sequence");
            AssertClean(state.Image, $"{state.Config}, after the sequence");
        }
        finally
        {
            state.Image.Dispose();
        }

        return new Outcome(state.Path, state.Model);
    }

    private static void AssertClean(Qcow2Image image, string where)
    {
        var result = ImageChecker.Check(image, CheckRepair.None).Final;
        if (result.CheckErrors != 0 || result.Corruptions != 0 || result.Leaks != 0)
        {
            throw new InvalidOperationException(
                $"{where}: check found {result.Corruptions} corruptions, {result.Leaks} leaks, {result.CheckErrors} errors: {string.Join("; ", result.Messages)}");
        }
    }

    /// <summary>The image under test and its model, side by side.</summary>
    private sealed class State
    {
        private readonly string _directory;
        private readonly Dictionary<int, byte[]> _snapshots = [];
        private byte[] _backing = [];
        private int _generation;

        public State(Config config, string directory)
        {
            Config = config;
            _directory = directory;
            Path = System.IO.Path.Combine(directory, "model.qcow2");
            Model = new byte[config.Size];
            if (config.Backing)
            {
                // A backing file shorter than the overlay: the part past its end reads as zeroes.
                _backing = new byte[config.Size / 2 / 512 * 512];
                new Random(config.GetHashCode()).NextBytes(_backing);
                var backingPath = System.IO.Path.Combine(directory, "base.raw");
                RawFormat.Instance.Create(backingPath, new RawCreateOptions { Size = _backing.Length });
                using (var backing = ImageFormatRegistry.Default.Open(backingPath, "raw", new ImageOpenOptions { ReadOnly = false }))
                {
                    backing.Write(0, _backing);
                }

                _backing.CopyTo(Model, 0);
            }

            Qcow2Format.Instance.Create(Path, new Qcow2CreateOptions
            {
                Preallocation = config.Preallocation,
                Encryption = config.Encrypted ? new global::DiskImage.Crypto.LuksCreateOptions { KeySecret = SecretId, IterTimeMs = 10 } : null,
                SecretProvider = OpenOptions(readOnly: true).SecretProvider,
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
            Image = Open(readOnly: false);
        }

        public Config Config { get; private set; }

        public string Path { get; private set; }

        public byte[] Model { get; private set; }

        public Qcow2Image Image { get; private set; }

        private int Size => Model.Length;

        public void Apply(Op op, string where)
        {
            switch (op)
            {
                case WriteOp w:
                {
                    var (offset, length) = Clip(w.Start, w.Sectors);
                    var data = new byte[length];
                    for (var i = 0; i < length; i++)
                    {
                        data[i] = (byte)(w.Pattern + (i / 512));
                    }

                    Image.Write(offset, data);
                    data.CopyTo(Model, offset);
                    break;
                }

                case ZeroOp z:
                {
                    var (offset, length) = Clip(z.Start, z.Sectors);
                    Image.WriteZeroes(offset, length, z.MayUnmap);
                    Array.Clear(Model, (int)offset, length);
                    break;
                }

                case DiscardOp d:
                    Discard(d);
                    break;

                case UnalignedDiscardOp d:
                {
                    var (offset, length) = Clip(d.Start, d.Sectors);
                    Image.Discard(offset, length);
                    DiscardInModel(offset, length);
                    break;
                }

                case CompressedOp c:
                    WriteCompressed(c);
                    break;

                case ReadOp r:
                {
                    var (offset, length) = Clip(r.Start, r.Sectors);
                    AssertReads(offset, length, where);
                    break;
                }

                case FlushOp:
                    Image.Flush();
                    break;

                case ReopenOp:
                    Reopen(readOnly: false, where);
                    break;

                case SnapshotCreateOp s:
                    CreateSnapshot(s.Slot, where);
                    break;

                case SnapshotApplyOp s:
                    ApplySnapshot(s.Slot, where);
                    break;

                case SnapshotDeleteOp s:
                    if (_snapshots.Remove(s.Slot))
                    {
                        Image.DeleteSnapshot(new Qcow2SnapshotSelector { Name = $"s{s.Slot}" });
                        AssertImage(where);
                    }

                    break;

                case ResizeOp r:
                    Resize(r, where);
                    break;

                case ConvertOp c:
                    Convert(c, where);
                    break;
            }
        }

        public void Reopen(bool readOnly, string where)
        {
            Image.Dispose();
            Image = Open(readOnly);
            AssertImage(where);
        }

        private Qcow2Image Open(bool readOnly) =>
            (Qcow2Image)ImageFormatRegistry.Default.Open(Path, "qcow2", OpenOptions(readOnly));

        private void Discard(DiscardOp d)
        {
            var clusters = Size / Config.ClusterSize;
            if (clusters == 0)
            {
                return;
            }

            var first = d.Cluster % clusters;
            var count = Math.Min(d.Clusters, clusters - first);
            var offset = first * Config.ClusterSize;
            var length = count * Config.ClusterSize;
            Image.Discard(offset, length);
            DiscardInModel(offset, length);
        }

        /// <summary>
        /// QEMU's discard: whole clusters only (plus a partial last cluster of the image), reading as zeroes
        /// afterwards; a version-2 overlay discards nothing, since it could only expose its backing file.
        /// </summary>
        private void DiscardInModel(long offset, int length)
        {
            if (Config.Version == 2 && Config.Backing)
            {
                return;
            }

            var clusterSize = Config.ClusterSize;
            var start = (offset + clusterSize - 1) / clusterSize * clusterSize;
            var end = offset + length;
            var wholeEnd = end == Size ? end : end / clusterSize * clusterSize;
            if (wholeEnd > start)
            {
                Array.Clear(Model, (int)start, (int)(wholeEnd - start));
            }
        }

        private void WriteCompressed(CompressedOp c)
        {
            var clusters = Size / Config.ClusterSize;
            if (clusters == 0)
            {
                return;
            }

            var data = new byte[Config.ClusterSize];
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = (byte)(c.Pattern ^ (i % 7 == 0 ? i : 0));
            }

            var output = new byte[Config.ClusterSize];
            var offset = (long)(c.Cluster % clusters) * Config.ClusterSize;
            // Encrypted images take no compressed clusters (QEMU refuses them too).
            if (!Config.Encrypted && Image.TryCompressCluster(data, output, out var written))
            {
                Image.WriteCompressedCluster(offset, output.AsSpan(0, written));
            }
            else
            {
                Image.Write(offset, data);
            }

            data.CopyTo(Model, offset);
        }

        private void CreateSnapshot(int slot, string where)
        {
            if (_snapshots.ContainsKey(slot))
            {
                return;
            }

            try
            {
                Image.CreateSnapshot($"s{slot}", DateTimeOffset.UnixEpoch);
                _snapshots[slot] = (byte[])Model.Clone();
            }
            catch (ErrnoException e) when (Config.RefcountBits <= 2 && e.Errno == ErrnoException.EINVAL)
            {
                // As in QEMU: 1- and 2-bit refcounts overflow once clusters are shared (compressed
                // clusters already share host clusters); the snapshot is refused with EINVAL after its L1 copy was
                // written, which leaks. The guest data is unchanged, and repairing the leaks leaves a clean image.
                AssertImage(where);
                var repaired = ImageChecker.Check(Image, CheckRepair.Leaks);
                if (repaired.ExitCode != 0)
                {
                    throw new InvalidOperationException($"{where}: after a refused snapshot, check -r leaks ended with exit code {repaired.ExitCode}");
                }

                AssertImage(where);
            }
        }

        private void ApplySnapshot(int slot, string where)
        {
            if (!_snapshots.TryGetValue(slot, out var saved))
            {
                return;
            }

            try
            {
                Image.ApplySnapshot(new Qcow2SnapshotSelector { Name = $"s{slot}" });
                Model = (byte[])saved.Clone();
            }
            catch (UnsupportedFeatureException) when (Config.RefcountBits <= 2)
            {
                // Refcount overflow, as for create: refused before anything changed.
            }

            AssertImage(where);
        }

        private void Resize(ResizeOp r, string where)
        {
            var target = Config.Size * 2 * r.Permille / 1000;
            var unit = r.ClusterAligned ? Config.ClusterSize : 512;
            var newSize = Math.Max(unit, target / unit * unit);
            if (Config.Version == 2 && _snapshots.Count > 0 && newSize != Size)
            {
                // QEMU refuses this too: version 2 snapshots cannot record their own disk size.
                Assert.Throws<UnsupportedFeatureException>(() => Image.Resize(newSize, Preallocation.Off));
                AssertImage(where);
                return;
            }

            Image.Resize(newSize, newSize > Size ? Config.Preallocation : Preallocation.Off);
            var resized = new byte[newSize];
            Model.AsSpan(0, (int)Math.Min(newSize, Size)).CopyTo(resized);
            Model = resized;
            AssertImage(where);
        }

        private void Convert(ConvertOp c, string where)
        {
            Image.Dispose();
            var target = System.IO.Path.Combine(_directory, $"converted{++_generation}.qcow2");
            var compress = c.Compress && !Config.Encrypted;
            var options = new Dictionary<string, string>
            {
                ["compat"] = Config.Version == 2 ? "0.10" : "1.1",
                ["cluster_size"] = Config.ClusterSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["refcount_bits"] = Config.RefcountBits.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            // As qemu-img, a compressed copy takes no preallocation: the copy is then a thin image.
            if (Config.Preallocation != Preallocation.Off && !compress)
            {
                options["preallocation"] = Config.Preallocation.ToString().ToLowerInvariant();
            }

            if (Config.Encrypted)
            {
                options["encrypt.format"] = "luks";
                options["encrypt.key-secret"] = SecretId;
                options["encrypt.iter-time"] = "10";
            }

            if (Config.Version == 3)
            {
                options["lazy_refcounts"] = Config.Lazy ? "on" : "off";
                options["extended_l2"] = Config.ExtendedL2 ? "on" : "off";
                options["compression_type"] = Config.Zstd ? "zstd" : "zlib";
            }

            ImageConverter.Convert(new ConvertOptions
            {
                Sources = [Path],
                SourceFormat = "qcow2",
                Target = target,
                TargetFormat = "qcow2",
                TargetOptions = options,
                Compress = compress,
                SecretProvider = OpenOptions(readOnly: true).SecretProvider,
                SourceKeySecrets = [Config.Encrypted ? SecretId : null],
                Workers = 2,
            });

            // The copy is flat and has no snapshots: from here on, discards over it leave zeroes.
            Path = target;
            Config = Config with { Backing = false, Preallocation = compress ? Preallocation.Off : Config.Preallocation };
            _backing = [];
            _snapshots.Clear();
            Image = Open(readOnly: false);
            AssertImage(where);
        }

        private (long Offset, int Length) Clip(int start, int sectors)
        {
            var offset = (long)start * (Size / 512) / 65536 * 512;
            var length = (int)Math.Min((long)sectors * 512, Size - offset);
            return (offset, length);
        }

        private void AssertImage(string where)
        {
            if (Image.Length != Size)
            {
                throw new InvalidOperationException($"{where}: the image is {Image.Length} bytes, the model {Size}");
            }

            AssertReads(0, Size, where);
        }

        private void AssertReads(long offset, int length, string where)
        {
            var actual = new byte[length];
            Image.Read(offset, actual);
            var expected = Model.AsSpan((int)offset, length);
            var mismatch = expected.CommonPrefixLength(actual);
            if (mismatch != length)
            {
                throw new InvalidOperationException(
                    $"{where}: byte {offset + mismatch} reads 0x{actual[mismatch]:x2}, model has 0x{expected[mismatch]:x2}");
            }
        }
    }
}
