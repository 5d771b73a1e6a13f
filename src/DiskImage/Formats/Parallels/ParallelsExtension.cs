using System.Buffers.Binary;
using System.Globalization;

namespace DiskImage.Formats.Parallels;

/// <summary>
/// The Format Extension cluster a header may name (<c>ext_off</c>): checked, as QEMU does on a read-only open, for
/// its magic, its MD5 checksum and a chain of known features ending in the end marker. Dirty bitmaps are the only
/// feature; they are validated but not exposed (QEMU shows them nowhere qemu-img prints).
/// </summary>
internal static class ParallelsExtension
{
    private const ulong Magic = 0xAB234CEF23DCEA87;
    private const ulong EndOfFeatures = 0;
    private const ulong DirtyBitmapFeature = 0x20385FAE252CB34A;
    private const int HeaderSize = 24;
    private const int FeatureHeaderSize = 24;
    private const int BitmapFeatureSize = 32;

    /// <summary>Validates the extension cluster; the first problem found is thrown in QEMU's words.</summary>
    public static void Validate(ReadOnlySpan<byte> cluster, ulong diskSectors)
    {
        var magic = BinaryPrimitives.ReadUInt64LittleEndian(cluster);
        if (magic != Magic)
        {
            throw new InvalidImageException(string.Create(CultureInfo.InvariantCulture, $"Wrong parallels Format Extension magic: 0x{magic:x}, expected: 0x{Magic:x}"));
        }

        var hash = System.Security.Cryptography.MD5.HashData(cluster[HeaderSize..]);
        if (!hash.AsSpan().SequenceEqual(cluster[8..HeaderSize]))
        {
            throw new InvalidImageException("Wrong checksum in Format Extension header. Format extension is corrupted.");
        }

        var bitmaps = new HashSet<Guid>();
        var pos = HeaderSize;
        while (true)
        {
            // QEMU counts down only the feature headers; the bytes actually left bound the walk here.
            var remaining = cluster.Length - pos;
            if (remaining < FeatureHeaderSize)
            {
                throw new InvalidImageException(string.Create(CultureInfo.InvariantCulture, $"Can not read feature header, as remaining bytes ({remaining}) in Format Extension is less than Feature header size ({FeatureHeaderSize})"));
            }

            var feature = BinaryPrimitives.ReadUInt64LittleEndian(cluster[pos..]);
            var flags = BinaryPrimitives.ReadUInt64LittleEndian(cluster[(pos + 8)..]);
            var dataSize = BinaryPrimitives.ReadUInt32LittleEndian(cluster[(pos + 16)..]);
            pos += FeatureHeaderSize;
            remaining -= FeatureHeaderSize;
            if (flags != 0)
            {
                throw new InvalidImageException("Flags for extension feature are unsupported");
            }

            if (dataSize > remaining)
            {
                throw new InvalidImageException("Feature data_size exceedes Format Extension cluster");
            }

            switch (feature)
            {
                case EndOfFeatures:
                    return;
                case DirtyBitmapFeature:
                    ValidateBitmap(cluster.Slice(pos, (int)dataSize), diskSectors, cluster.Length, bitmaps);
                    break;
                default:
                    throw new InvalidImageException(string.Create(CultureInfo.InvariantCulture, $"Unknown feature: 0x{feature:x}"));
            }

            pos = (int)Math.Min(cluster.Length, (pos + dataSize + 7L) & ~7L);
        }
    }

    private static void ValidateBitmap(ReadOnlySpan<byte> data, ulong diskSectors, int clusterSize, HashSet<Guid> seen)
    {
        if (data.Length < BitmapFeatureSize)
        {
            throw new InvalidImageException(string.Create(CultureInfo.InvariantCulture, $"Too small Bitmap Feature area in Parallels Format Extension: {data.Length} bytes, expected at least {BitmapFeatureSize} bytes"));
        }

        var size = BinaryPrimitives.ReadUInt64LittleEndian(data);
        var id = new Guid(data.Slice(8, 16), bigEndian: true);
        var granularity = (ulong)BinaryPrimitives.ReadUInt32LittleEndian(data[24..]) << 9;
        var l1Size = BinaryPrimitives.ReadUInt32LittleEndian(data[28..]);
        if (size != diskSectors)
        {
            throw new InvalidImageException(string.Create(CultureInfo.InvariantCulture, $"Bitmap size (in sectors) {(long)size} differs from disk size in sectors {(long)diskSectors}"));
        }

        if ((ulong)l1Size * 8 > (ulong)(data.Length - BitmapFeatureSize))
        {
            throw new InvalidImageException("Bitmaps feature corrupted: l1 table exceeds extension data_size");
        }

        // QEMU asserts on these (a power of two of at least a sector, below 4 GiB); refused here instead.
        if (granularity < 512 || granularity > uint.MaxValue || (granularity & (granularity - 1)) != 0)
        {
            throw new InvalidImageException(string.Create(CultureInfo.InvariantCulture, $"Bitmap granularity {granularity} is not a power of 2 of at least 512 bytes"));
        }

        if (!seen.Add(id))
        {
            throw new InvalidImageException($"Bitmap already exists: {id:D}");
        }

        // The serialized bitmap is whole 64-bit words of one bit per granule, stored a cluster per L1 entry.
        var bytes = size * 512;
        var words = bytes == 0 ? 0 : ((bytes - 1) / granularity / 64) + 1;
        var expected = ((words * 8) + (ulong)clusterSize - 1) / (ulong)clusterSize;
        if (expected != l1Size)
        {
            throw new InvalidImageException(string.Create(CultureInfo.InvariantCulture, $"Bitmap table size {l1Size} does not correspond to bitmap size and cluster size. Expected {expected}"));
        }
    }
}
