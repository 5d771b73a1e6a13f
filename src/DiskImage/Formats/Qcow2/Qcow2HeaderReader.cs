using System.Buffers.Binary;
using System.Text;
using DiskImage.IO;
using static DiskImage.Formats.Qcow2.Qcow2Header;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Parses and validates the header cluster in QEMU's order, with its limits and messages, before
/// anything is allocated from the values it holds.
/// </summary>
internal static class Qcow2HeaderReader
{
    public static Qcow2Header Read(IStorage file, bool writable, bool forRepair, bool forCheck = false)
    {
        Span<byte> fixedPart = stackalloc byte[Qcow2Constants.Version3HeaderLength];
        file.Read(0, fixedPart);
        if (BinaryPrimitives.ReadUInt32BigEndian(fixedPart[FieldOffsets.Magic..]) != Qcow2Constants.Magic)
        {
            throw new InvalidImageException("Image is not in qcow2 format", 0);
        }

        var version = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[FieldOffsets.Version..]);
        if (version is < 2 or > 3)
        {
            throw new UnsupportedFeatureException($"Unsupported qcow2 version {version}");
        }

        var clusterBits = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[FieldOffsets.ClusterBits..]);
        if (clusterBits is < Qcow2Constants.MinClusterBits or > Qcow2Constants.MaxClusterBits)
        {
            throw new InvalidImageException($"Unsupported cluster size: 2^{clusterBits}", FieldOffsets.ClusterBits);
        }

        var clusterSize = 1 << (int)clusterBits;
        var cluster = new byte[clusterSize];
        file.Read(0, cluster);
        return Parse(cluster, writable, forRepair, forCheck);
    }

    /// <summary>Parses a whole header cluster (already known to carry the magic, a version and valid cluster bits).</summary>
    public static Qcow2Header Parse(ReadOnlySpan<byte> cluster, bool writable, bool forRepair, bool forCheck = false)
    {
        var version = (int)BinaryPrimitives.ReadUInt32BigEndian(cluster[FieldOffsets.Version..]);
        var clusterBits = (int)BinaryPrimitives.ReadUInt32BigEndian(cluster[FieldOffsets.ClusterBits..]);
        var clusterSize = 1 << clusterBits;
        ulong incompatible = 0, compatible = 0, autoclear = 0;
        uint refcountOrder = 4;
        long headerLength = Qcow2Constants.Version2HeaderLength;
        if (version >= 3)
        {
            incompatible = BinaryPrimitives.ReadUInt64BigEndian(cluster[FieldOffsets.IncompatibleFeatures..]);
            compatible = BinaryPrimitives.ReadUInt64BigEndian(cluster[FieldOffsets.CompatibleFeatures..]);
            autoclear = BinaryPrimitives.ReadUInt64BigEndian(cluster[FieldOffsets.AutoclearFeatures..]);
            refcountOrder = BinaryPrimitives.ReadUInt32BigEndian(cluster[FieldOffsets.RefcountOrder..]);
            headerLength = BinaryPrimitives.ReadUInt32BigEndian(cluster[FieldOffsets.HeaderLength..]);
            if (headerLength < Qcow2Constants.Version3MinHeaderLength)
            {
                throw new InvalidImageException("qcow2 header too short", FieldOffsets.HeaderLength);
            }
        }

        if (headerLength > clusterSize)
        {
            throw new InvalidImageException("qcow2 header exceeds cluster size", FieldOffsets.HeaderLength);
        }

        var backingFileOffset = BinaryPrimitives.ReadUInt64BigEndian(cluster[FieldOffsets.BackingFileOffset..]);
        if (backingFileOffset > (ulong)clusterSize)
        {
            throw new InvalidImageException("Invalid backing file offset", FieldOffsets.BackingFileOffset);
        }

        var extensionsEnd = backingFileOffset != 0 ? (int)backingFileOffset : clusterSize;
        var extensionsStart = (int)headerLength;

        if ((incompatible & ~Qcow2Constants.IncompatibleKnownMask) != 0)
        {
            List<Qcow2HeaderExtension> extensions;
            try
            {
                extensions = ReadExtensions(cluster, extensionsStart, extensionsEnd);
            }
            catch (InvalidImageException)
            {
                extensions = [];
            }

            var names = new Qcow2Header
            {
                Version = version, ClusterBits = clusterBits, Size = 0, L1Size = 0, L1TableOffset = 0,
                RefcountTableOffset = 0, RefcountTableClusters = 0, Extensions = extensions,
            }.FeatureNames;
            throw new UnsupportedFeatureException(DescribeUnsupported(names, incompatible & ~Qcow2Constants.IncompatibleKnownMask));
        }

        if ((incompatible & Qcow2Constants.IncompatibleCorrupt) != 0 && writable && !forRepair)
        {
            throw new ImageCorruptException("qcow2: Image is corrupt; cannot be opened read/write");
        }

        var compressionType = 0;
        if (headerLength > FieldOffsets.CompressionType)
        {
            compressionType = cluster[FieldOffsets.CompressionType];
        }

        if (compressionType > 1)
        {
            throw new UnsupportedFeatureException($"qcow2: unknown compression type: {compressionType}");
        }

        var compressionBit = (incompatible & Qcow2Constants.IncompatibleCompressionType) != 0;
        if (compressionType == 0 && compressionBit)
        {
            throw new InvalidImageException("qcow2: Compression type incompatible feature bit must not be set", FieldOffsets.IncompatibleFeatures);
        }

        if (compressionType != 0 && !compressionBit)
        {
            throw new InvalidImageException("qcow2: Compression type incompatible feature bit must be set", FieldOffsets.IncompatibleFeatures);
        }

        if (refcountOrder > 6)
        {
            throw new InvalidImageException("Reference count entry width too large; may not exceed 64 bits", FieldOffsets.RefcountOrder);
        }

        var cryptMethod = BinaryPrimitives.ReadUInt32BigEndian(cluster[FieldOffsets.CryptMethod..]);
        if (cryptMethod > Qcow2Constants.CryptLuks)
        {
            throw new UnsupportedFeatureException($"Unsupported encryption method: {cryptMethod}");
        }

        var extendedL2 = (incompatible & Qcow2Constants.IncompatibleExtendedL2) != 0;
        if (extendedL2 && clusterSize / Qcow2Constants.SubclustersPerCluster < 512)
        {
            throw new InvalidImageException($"Unsupported subcluster size: {clusterSize / Qcow2Constants.SubclustersPerCluster}", FieldOffsets.ClusterBits);
        }

        var refcountTableOffset = BinaryPrimitives.ReadUInt64BigEndian(cluster[FieldOffsets.RefcountTableOffset..]);
        var refcountTableClusters = BinaryPrimitives.ReadUInt32BigEndian(cluster[FieldOffsets.RefcountTableClusters..]);
        if ((long)refcountTableClusters * clusterSize > Qcow2Constants.MaxRefcountTableBytes)
        {
            throw new InvalidImageException("Reference count table too large", FieldOffsets.RefcountTableClusters);
        }

        if (refcountTableClusters == 0 && !forRepair)
        {
            throw new InvalidImageException("Image does not contain a reference count table", FieldOffsets.RefcountTableClusters);
        }

        ValidateTable(refcountTableOffset, refcountTableClusters, clusterSize, Qcow2Constants.MaxRefcountTableBytes, clusterSize, "Reference count table", FieldOffsets.RefcountTableOffset);

        var snapshotCount = BinaryPrimitives.ReadUInt32BigEndian(cluster[FieldOffsets.SnapshotCount..]);
        var snapshotsOffset = BinaryPrimitives.ReadUInt64BigEndian(cluster[FieldOffsets.SnapshotsOffset..]);
        if (!forCheck)
        {
            // In check mode the check bounds the snapshot table itself, so it can report and repair it.
            ValidateSnapshotTable(snapshotsOffset, snapshotCount, clusterSize, "Snapshot table");
        }

        var l1Size = BinaryPrimitives.ReadUInt32BigEndian(cluster[FieldOffsets.L1Size..]);
        var l1Offset = BinaryPrimitives.ReadUInt64BigEndian(cluster[FieldOffsets.L1TableOffset..]);
        ValidateTable(l1Offset, l1Size, 8, Qcow2Constants.MaxL1Bytes, clusterSize, "Active L1 table", FieldOffsets.L1TableOffset);

        var size = BinaryPrimitives.ReadUInt64BigEndian(cluster[FieldOffsets.Size..]);
        var l2Entries = clusterSize / (extendedL2 ? 16 : 8);
        var bytesPerL1Entry = (ulong)l2Entries * (ulong)clusterSize;
        var neededL1 = size / bytesPerL1Entry + (size % bytesPerL1Entry != 0 ? 1UL : 0UL);
        if (neededL1 > int.MaxValue || size > long.MaxValue)
        {
            throw new InvalidImageException("Image is too big", FieldOffsets.Size);
        }

        if (l1Size < neededL1)
        {
            throw new InvalidImageException("L1 table is too small", FieldOffsets.L1Size);
        }

        // Each known extension is validated as it is reached, as QEMU does, so the first bad one is named.
        var allExtensions = ReadExtensions(cluster, extensionsStart, extensionsEnd,
            extension => ValidateKnownExtension(extension, (int)cryptMethod, autoclear, clusterSize));

        string? backingFile = null;
        if (backingFileOffset != 0)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(cluster[FieldOffsets.BackingFileSize..]);
            if (length > Math.Min(Qcow2Constants.MaxBackingFileNameLength, clusterSize - (long)backingFileOffset))
            {
                throw new InvalidImageException("Backing file name too long", FieldOffsets.BackingFileSize);
            }

            backingFile = Encoding.UTF8.GetString(cluster.Slice((int)backingFileOffset, (int)length));
        }

        var unknownFields = headerLength > Qcow2Constants.Version3HeaderLength
            ? cluster[Qcow2Constants.Version3HeaderLength..(int)headerLength].ToArray()
            : [];

        return new Qcow2Header
        {
            Version = version,
            ClusterBits = clusterBits,
            Size = (long)size,
            CryptMethod = (int)cryptMethod,
            L1Size = (int)l1Size,
            L1TableOffset = (long)l1Offset,
            RefcountTableOffset = (long)refcountTableOffset,
            RefcountTableClusters = (int)refcountTableClusters,
            SnapshotCount = (int)snapshotCount,
            SnapshotsOffset = (long)snapshotsOffset,
            IncompatibleFeatures = incompatible,
            CompatibleFeatures = compatible,
            AutoclearFeatures = autoclear,
            RefcountOrder = (int)refcountOrder,
            HeaderLength = (int)headerLength,
            CompressionType = (Qcow2CompressionType)compressionType,
            UnknownHeaderFields = unknownFields,
            Extensions = allExtensions,
            BackingFile = backingFile,
        };
    }

    /// <summary>The unknown incompatible bits named from the image's feature table, as QEMU words it.</summary>
    internal static string DescribeUnsupported(IReadOnlyList<Qcow2FeatureName> table, ulong mask)
    {
        var parts = new List<string>();
        foreach (var feature in table)
        {
            if (feature.Type == Qcow2FeatureName.Incompatible && feature.Bit < 64 && (mask & (1UL << feature.Bit)) != 0)
            {
                parts.Add(feature.Name);
                mask &= ~(1UL << feature.Bit);
            }
        }

        if (mask != 0)
        {
            parts.Add($"Unknown incompatible feature: {mask:x}");
        }

        return "Unsupported qcow2 feature(s): " + string.Join(", ", parts);
    }

    /// <summary>QEMU's bounds on the snapshot table's place and entry count, naming it <paramref name="name"/>.</summary>
    public static void ValidateSnapshotTable(ulong offset, ulong entries, int clusterSize, string name) =>
        ValidateTable(offset, entries, Qcow2Constants.SnapshotHeaderSize,
            (long)Qcow2Constants.SnapshotHeaderSize * Qcow2Constants.MaxSnapshots, clusterSize, name, FieldOffsets.SnapshotsOffset);

    private static void ValidateTable(ulong offset, ulong entries, long entrySize, long maxBytes, int clusterSize, string name, int field)
    {
        if (entries > (ulong)(maxBytes / entrySize))
        {
            throw new InvalidImageException($"{name} too large", field);
        }

        var bytes = entries * (ulong)entrySize;
        if (offset >= (ulong)Qcow2Constants.MaxHostOffset || (ulong)long.MaxValue - bytes < offset || (offset & (ulong)(clusterSize - 1)) != 0)
        {
            throw new InvalidImageException($"{name} offset invalid", field);
        }
    }

    private static List<Qcow2HeaderExtension> ReadExtensions(ReadOnlySpan<byte> cluster, int start, int end, Action<Qcow2HeaderExtension>? validate = null)
    {
        var result = new List<Qcow2HeaderExtension>();
        long offset = start;
        while (offset < end)
        {
            if (offset + 8 > end)
            {
                throw new InvalidImageException("Header extension too large", offset);
            }

            var magic = BinaryPrimitives.ReadUInt32BigEndian(cluster[(int)offset..]);
            var length = BinaryPrimitives.ReadUInt32BigEndian(cluster[(int)(offset + 4)..]);
            offset += 8;
            if (length > end - offset)
            {
                throw new InvalidImageException("Header extension too large", offset - 8);
            }

            if (magic == Qcow2Constants.ExtensionEnd)
            {
                break;
            }

            var extension = new Qcow2HeaderExtension(magic, cluster.Slice((int)offset, (int)length).ToArray());
            validate?.Invoke(extension);
            result.Add(extension);
            offset += (length + 7) & ~7L;
        }

        return result;
    }

    private static void ValidateKnownExtension(Qcow2HeaderExtension extension, int cryptMethod, ulong autoclear, int clusterSize)
    {
        switch (extension.Magic)
        {
            case Qcow2Constants.ExtensionBackingFormat when extension.Data.Length >= 16:
                throw new InvalidImageException($"ERROR: ext_backing_format: len={extension.Data.Length} too large (>=16)");
            case Qcow2Constants.ExtensionCryptoHeader:
                if (cryptMethod != Qcow2Constants.CryptLuks)
                {
                    throw new InvalidImageException("CRYPTO header extension only expected with LUKS encryption method");
                }

                if (extension.Data.Length != 16)
                {
                    throw new InvalidImageException($"CRYPTO header extension size {extension.Data.Length}, but expected size 16");
                }

                break;
            case Qcow2Constants.ExtensionBitmaps:
                if (extension.Data.Length != 24)
                {
                    throw new InvalidImageException("bitmaps_ext: Invalid extension length");
                }

                // Without the autoclear bit the bitmaps are stale and ignored, so nothing else in them is checked.
                if ((autoclear & Qcow2Constants.AutoclearBitmaps) != 0)
                {
                    ValidateBitmapsExtension(extension.Data, clusterSize);
                }

                break;
        }
    }

    private static void ValidateBitmapsExtension(byte[] data, int clusterSize)
    {
        var count = BinaryPrimitives.ReadUInt32BigEndian(data);
        if (BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4)) != 0)
        {
            throw new InvalidImageException("bitmaps_ext: Reserved field is not zero");
        }

        if (count > 65535)
        {
            throw new InvalidImageException($"bitmaps_ext: Image has {count} bitmaps, exceeding the QEMU supported maximum of 65535");
        }

        if (count == 0)
        {
            throw new InvalidImageException("found bitmaps extension with zero bitmaps");
        }

        var directorySize = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(8));
        var directoryOffset = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(16));
        if ((directoryOffset & (ulong)(clusterSize - 1)) != 0)
        {
            throw new InvalidImageException("bitmaps_ext: invalid bitmap directory offset");
        }

        if (directorySize > Bitmaps.Qcow2BitmapLimits.MaxDirectoryBytes)
        {
            throw new InvalidImageException($"bitmaps_ext: bitmap directory size ({directorySize}) exceeds the maximum supported size ({Bitmaps.Qcow2BitmapLimits.MaxDirectoryBytes})");
        }
    }
}
