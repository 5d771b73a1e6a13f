using CsCheck;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Operations.Check;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Qcow2;

/// <summary>
/// Host space taken in guest order and filled in any order, from several threads, must leave the very file that
/// writing the same ranges in guest order leaves; space given back unwritten must leave the image consistent.
/// </summary>
public class Qcow2ReservedWritePropertyTests
{
    private const int ImageSize = 4 << 20;

    /// <summary>A write of <paramref name="Clusters"/> clusters after a gap of <paramref name="Gap"/> clusters; Misaligned shifts it by a sector.</summary>
    private sealed record Piece(int Gap, int Clusters, bool Misaligned, byte Fill);

    private static readonly int[] s_clusterSizes = [512, 4096, 65536];

    private static readonly Gen<Piece> s_pieces =
        Gen.Select(Gen.Int[0, 3], Gen.Int[1, 40], Gen.Int[0, 9], Gen.Byte)
            .Select((gap, clusters, misaligned, fill) => new Piece(gap, clusters, misaligned == 0, fill));

    [Fact]
    public void Reserved_in_order_and_written_in_any_order_gives_the_in_order_file()
    {
        Gen.Select(Gen.Int[0, s_clusterSizes.Length - 1], s_pieces.Array[1, 12], Gen.Int, Gen.Bool).Sample((sizeIndex, pieces, seed, extendedL2) =>
        {
            var clusterSize = s_clusterSizes[sizeIndex];
            using var dir = new TempDirectory();
            var writes = Plan(pieces, clusterSize);
            var inOrder = Create(dir.File("in-order.qcow2"), clusterSize, extendedL2);
            var reserved = Create(dir.File("reserved.qcow2"), clusterSize, extendedL2);
            using (var image = Open(inOrder))
            {
                foreach (var (offset, data) in writes)
                {
                    image.Write(offset, data);
                }
            }

            using (var image = Open(reserved))
            {
                // In guest order: space taken ahead where the range is whole empty clusters, else written at once
                // (as the copy does with a chunk that cannot take space ahead).
                var pending = new List<(IReservedWrite Write, byte[] Data)>();
                foreach (var (offset, data) in writes)
                {
                    if (((IReservingWriter)image).TryReserve(offset, data.Length) is { } write)
                    {
                        pending.Add((write, data));
                    }
                    else
                    {
                        Assert.True(offset % clusterSize != 0 || data.Length % clusterSize != 0, $"whole clusters at {offset}+{data.Length} were refused");
                        image.Write(offset, data);
                    }
                }

                var shuffled = pending.ToArray();
                new Random(seed).Shuffle(shuffled);
                Parallel.ForEach(shuffled, new ParallelOptions { MaxDegreeOfParallelism = 3 }, p => p.Write.Write(p.Data));
            }

            Assert.True(File.ReadAllBytes(inOrder).AsSpan().SequenceEqual(File.ReadAllBytes(reserved)), "the files differ");
        }, iter: 40);
    }

    [Fact]
    public void Space_given_back_leaves_a_consistent_image_reading_zeroes_there()
    {
        Gen.Select(s_pieces.Array[2, 10], Gen.Int).Sample((pieces, seed) =>
        {
            const int ClusterSize = 4096;
            using var dir = new TempDirectory();
            var path = Create(dir.File("aborted.qcow2"), ClusterSize, extendedL2: false);
            var model = new byte[ImageSize];
            var random = new Random(seed);
            using (var image = Open(path))
            {
                var pending = new List<(IReservedWrite Write, long Offset, byte[] Data)>();
                foreach (var (offset, data) in Plan(pieces, ClusterSize))
                {
                    if (((IReservingWriter)image).TryReserve(offset, data.Length) is { } write)
                    {
                        pending.Add((write, offset, data));
                    }
                }

                foreach (var (write, offset, data) in pending.OrderBy(_ => random.Next()))
                {
                    if (random.Next(2) == 0)
                    {
                        write.Abort();
                        Assert.Throws<InvalidOperationException>(() => write.Write(data));
                    }
                    else
                    {
                        write.Write(data);
                        data.CopyTo(model, offset);
                    }
                }

                var actual = new byte[ImageSize];
                image.Read(0, actual);
                Assert.True(model.AsSpan().SequenceEqual(actual), "content differs from what was written");
            }

            using var reopened = (Qcow2Image)Qcow2Format.Instance.Open(path, new ImageOpenOptions { ReadOnly = false });
            var counts = reopened.Check(CheckRepair.None);
            Assert.Equal(0, counts.Corruptions);
            Assert.Equal(0, counts.Leaks);
        }, iter: 40);
    }

    /// <summary>The writes the pieces describe, in guest order, none past the image's end.</summary>
    private static List<(long Offset, byte[] Data)> Plan(Piece[] pieces, int clusterSize)
    {
        var writes = new List<(long, byte[])>();
        long position = 0;
        foreach (var piece in pieces)
        {
            var offset = position + ((long)piece.Gap * clusterSize) + (piece.Misaligned ? 512 : 0);
            var length = (piece.Clusters * clusterSize) - (piece.Misaligned ? 1024 : 0);
            if (length <= 0 || offset + length > ImageSize)
            {
                break;
            }

            var data = new byte[length];
            data.AsSpan().Fill(piece.Fill);
            data[0] ^= 0x5a;
            data[^1] ^= 0xa5;
            writes.Add((offset, data));

            // The next write starts in a later cluster, as the copy's chunks never share one.
            position = (offset + length + clusterSize - 1) / clusterSize * clusterSize;
        }

        return writes;
    }

    private static string Create(string path, int clusterSize, bool extendedL2)
    {
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions
        {
            Size = ImageSize,
            ClusterSize = clusterSize,
            ExtendedL2 = extendedL2 && clusterSize >= 16384,
        });
        return path;
    }

    private static IDiskImage Open(string path) => Qcow2Format.Instance.Open(path, new ImageOpenOptions { ReadOnly = false });
}
