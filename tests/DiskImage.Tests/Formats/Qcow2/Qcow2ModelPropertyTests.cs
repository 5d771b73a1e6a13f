using CsCheck;
using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Formats.Qcow2;

/// <summary>
/// Random sequences of writes, zero writes, discards and reads on small images must behave exactly like a
/// byte array, before and after reopening, for several cluster sizes, refcount widths and L2 layouts.
/// </summary>
public class Qcow2ModelPropertyTests
{
    private const int ImageSize = 1 << 20;

    private sealed record Operation(int Kind, int Offset, int Length, byte Fill, bool Unmap)
    {
        public override string ToString() => $"{(Kind switch { 0 => "zero", 1 => "discard", 2 => "read", _ => "write" })} {Offset}+{Length} fill={Fill} unmap={Unmap}";
    }

    private sealed record Layout(int ClusterSize, int RefcountBits, bool ExtendedL2, int Version);

    private static readonly Layout[] s_layoutTable =
    [
        new Layout(512, 16, false, 3),
        new Layout(512, 1, false, 3),
        new Layout(1024, 64, false, 3),
        new Layout(4096, 2, false, 3),
        new Layout(4096, 16, false, 2),
        new Layout(16384, 16, true, 3),
        new Layout(65536, 8, true, 3),
        new Layout(65536, 32, false, 3),
    ];

    private static readonly Gen<Layout> s_layouts = Gen.Int[0, s_layoutTable.Length - 1].Select(i => s_layoutTable[i]);

    private static readonly Gen<Operation> s_operations =
        Gen.Select(Gen.Int[0, 5], Gen.Int[0, ImageSize - 1], Gen.OneOf(Gen.Int[1, 600], Gen.Int[1, 140_000]), Gen.Byte, Gen.Bool)
            .Select((kind, offset, length, fill, unmap) => new Operation(kind, offset, Math.Min(length, ImageSize - offset), fill, unmap));

    [Fact]
    public void Random_operations_match_a_byte_array_model()
    {
        Gen.Select(s_layouts, s_operations.Array[1, 40]).Sample((layout, operations) =>
        {
            using var dir = new TempDirectory();
            var path = dir.File("model.qcow2");
            Qcow2Format.Instance.Create(path, new Qcow2CreateOptions
            {
                Size = ImageSize,
                ClusterSize = layout.ClusterSize,
                RefcountBits = layout.RefcountBits,
                ExtendedL2 = layout.ExtendedL2,
                Version = layout.Version,
            });
            var model = new byte[ImageSize];
            using (var image = Qcow2Format.Instance.Open(path, new ImageOpenOptions { ReadOnly = false }))
            {
                foreach (var operation in operations)
                {
                    Apply(image, model, operation);
                }

                AssertContent(image, model);
            }

            using (var reopened = Qcow2Format.Instance.Open(path, new ImageOpenOptions()))
            {
                AssertContent(reopened, model);
            }
        }, iter: 60);
    }

    private static void Apply(IDiskImage image, byte[] model, Operation operation)
    {
        var range = model.AsSpan(operation.Offset, operation.Length);
        switch (operation.Kind)
        {
            case 0:
                image.WriteZeroes(operation.Offset, operation.Length, operation.Unmap);
                range.Clear();
                break;
            case 1:
            {
                // QEMU's discard drops whole clusters only (and a partial last cluster of the image); partial
                // clusters keep their data.
                image.Discard(operation.Offset, operation.Length);
                var clusterSize = ((Qcow2Image)image).ClusterSize;
                var start = (operation.Offset + clusterSize - 1) / clusterSize * clusterSize;
                var end = operation.Offset + operation.Length;
                var wholeEnd = end == model.Length ? end : end / clusterSize * clusterSize;
                if (wholeEnd > start)
                {
                    model.AsSpan(start, wholeEnd - start).Clear();
                }

                break;
            }
            case 2:
                var buffer = new byte[operation.Length];
                image.Read(operation.Offset, buffer);
                Assert.True(range.SequenceEqual(buffer), $"read {operation} differs");
                break;
            default:
                var data = new byte[operation.Length];
                data.AsSpan().Fill(operation.Fill);
                data[0] ^= 0x5a;
                data[^1] ^= 0xa5;
                image.Write(operation.Offset, data);
                data.CopyTo(range);
                break;
        }
    }

    private static void AssertContent(IDiskImage image, byte[] model)
    {
        var actual = new byte[ImageSize];
        image.Read(0, actual);
        Assert.True(model.AsSpan().SequenceEqual(actual), "image content differs from the model");
    }
}
