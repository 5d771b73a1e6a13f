using System.Buffers.Binary;
using System.Text;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// The qcow2 header, its extensions and the backing file name: everything stored in the first cluster.
/// Immutable; changes are made with <c>with</c> and written back whole with <see cref="Serialize"/>.
/// </summary>
internal sealed partial record Qcow2Header
{
    public required int Version { get; init; }
    public required int ClusterBits { get; init; }
    public required long Size { get; init; }
    public int CryptMethod { get; init; }
    public required int L1Size { get; init; }
    public required long L1TableOffset { get; init; }
    public required long RefcountTableOffset { get; init; }
    public required int RefcountTableClusters { get; init; }
    public int SnapshotCount { get; init; }
    public long SnapshotsOffset { get; init; }
    public ulong IncompatibleFeatures { get; init; }
    public ulong CompatibleFeatures { get; init; }
    public ulong AutoclearFeatures { get; init; }
    public int RefcountOrder { get; init; } = 4;
    public int HeaderLength { get; init; } = Qcow2Constants.Version3HeaderLength;
    public Qcow2CompressionType CompressionType { get; init; }

    /// <summary>Header bytes past the fields this library knows (from a newer writer); kept as they are.</summary>
    public byte[] UnknownHeaderFields { get; init; } = [];

    /// <summary>Every extension in file order, known ones included.</summary>
    public IReadOnlyList<Qcow2HeaderExtension> Extensions { get; init; } = [];

    public string? BackingFile { get; init; }

    public int ClusterSize => 1 << ClusterBits;
    public int RefcountBits => 1 << RefcountOrder;
    public bool ExtendedL2 => (IncompatibleFeatures & Qcow2Constants.IncompatibleExtendedL2) != 0;
    public bool IsDirty => (IncompatibleFeatures & Qcow2Constants.IncompatibleDirty) != 0;
    public bool IsCorrupt => (IncompatibleFeatures & Qcow2Constants.IncompatibleCorrupt) != 0;
    public bool LazyRefcounts => (CompatibleFeatures & Qcow2Constants.CompatibleLazyRefcounts) != 0;
    public bool HasDataFile => (IncompatibleFeatures & Qcow2Constants.IncompatibleDataFile) != 0;
    public bool DataFileRaw => (AutoclearFeatures & Qcow2Constants.AutoclearDataFileRaw) != 0;

    public string? BackingFormat => ExtensionText(Qcow2Constants.ExtensionBackingFormat);
    public string? DataFile => ExtensionText(Qcow2Constants.ExtensionDataFile);

    /// <summary>Extensions this library does not interpret (kept on rewrite; refused for untrusted images).</summary>
    public IEnumerable<Qcow2HeaderExtension> UnknownExtensions => Extensions.Where(e => e.Magic is not
        (Qcow2Constants.ExtensionBackingFormat or Qcow2Constants.ExtensionFeatureTable or Qcow2Constants.ExtensionBitmaps
         or Qcow2Constants.ExtensionCryptoHeader or Qcow2Constants.ExtensionDataFile));

    /// <summary>The extension with <paramref name="magic"/>; of repeated ones the last, as QEMU reads them in order and each overrides the one before.</summary>
    public Qcow2HeaderExtension? FindExtension(uint magic) => Extensions.LastOrDefault(e => e.Magic == magic);

    /// <summary>Returns a copy whose extension with <paramref name="magic"/> is replaced (or removed when data is null), order kept; a new one is placed in QEMU's order.</summary>
    public Qcow2Header WithExtension(uint magic, byte[]? data)
    {
        var list = new List<Qcow2HeaderExtension>();
        var replaced = false;
        foreach (var extension in Extensions)
        {
            if (extension.Magic != magic)
            {
                list.Add(extension);
            }
            else if (data is not null && !replaced)
            {
                list.Add(new Qcow2HeaderExtension(magic, data));
                replaced = true;
            }
        }

        if (data is not null && !replaced)
        {
            // A new extension goes where QEMU writes it: known ones in QEMU's order, before the unknown ones it keeps.
            var rank = WriteRank(magic);
            var at = list.FindIndex(e => WriteRank(e.Magic) > rank);
            list.Insert(at < 0 ? list.Count : at, new Qcow2HeaderExtension(magic, data));
        }

        return this with { Extensions = list };
    }

    /// <summary>The order in which QEMU's header update writes extensions; unknown ones come last.</summary>
    private static int WriteRank(uint magic) => magic switch
    {
        Qcow2Constants.ExtensionBackingFormat => 0,
        Qcow2Constants.ExtensionDataFile => 1,
        Qcow2Constants.ExtensionCryptoHeader => 2,
        Qcow2Constants.ExtensionFeatureTable => 3,
        Qcow2Constants.ExtensionBitmaps => 4,
        _ => 5,
    };

    /// <summary>Feature names from the image's own table, used to name unknown incompatible bits.</summary>
    public IReadOnlyList<Qcow2FeatureName> FeatureNames
    {
        get
        {
            var extension = FindExtension(Qcow2Constants.ExtensionFeatureTable);
            if (extension is null)
            {
                return [];
            }

            // As QEMU reads it: a short last entry counts, zero-padded, and the first entry without a name ends the table.
            var names = new List<Qcow2FeatureName>();
            var data = extension.Data;
            Span<byte> entry = stackalloc byte[Qcow2FeatureName.EntrySize];
            for (var i = 0; i < data.Length; i += Qcow2FeatureName.EntrySize)
            {
                entry.Clear();
                data.AsSpan(i, Math.Min(Qcow2FeatureName.EntrySize, data.Length - i)).CopyTo(entry);
                var raw = entry[2..];
                var nul = raw.IndexOf((byte)0);
                if (nul == 0)
                {
                    break;
                }

                names.Add(new Qcow2FeatureName(entry[0], entry[1], Encoding.UTF8.GetString(nul < 0 ? raw : raw[..nul])));
            }

            return names;
        }
    }

    private string? ExtensionText(uint magic)
    {
        var extension = FindExtension(magic);
        if (extension is null)
        {
            return null;
        }

        var data = extension.Data.AsSpan();
        var nul = data.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? data : data[..nul]);
    }

    /// <summary>
    /// Serializes the whole first cluster: fields, extensions (end marker included), then the backing
    /// file name. Throws when it all does not fit in one cluster.
    /// </summary>
    public byte[] Serialize()
    {
        var cluster = new byte[ClusterSize];
        var span = cluster.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(span[FieldOffsets.Magic..], Qcow2Constants.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(span[FieldOffsets.Version..], (uint)Version);
        BinaryPrimitives.WriteUInt32BigEndian(span[FieldOffsets.ClusterBits..], (uint)ClusterBits);
        BinaryPrimitives.WriteInt64BigEndian(span[FieldOffsets.Size..], Size);
        BinaryPrimitives.WriteUInt32BigEndian(span[FieldOffsets.CryptMethod..], (uint)CryptMethod);
        BinaryPrimitives.WriteUInt32BigEndian(span[FieldOffsets.L1Size..], (uint)L1Size);
        BinaryPrimitives.WriteInt64BigEndian(span[FieldOffsets.L1TableOffset..], L1TableOffset);
        BinaryPrimitives.WriteInt64BigEndian(span[FieldOffsets.RefcountTableOffset..], RefcountTableOffset);
        BinaryPrimitives.WriteUInt32BigEndian(span[FieldOffsets.RefcountTableClusters..], (uint)RefcountTableClusters);
        BinaryPrimitives.WriteUInt32BigEndian(span[FieldOffsets.SnapshotCount..], (uint)SnapshotCount);
        BinaryPrimitives.WriteInt64BigEndian(span[FieldOffsets.SnapshotsOffset..], SnapshotsOffset);
        int position;
        if (Version >= 3)
        {
            BinaryPrimitives.WriteUInt64BigEndian(span[FieldOffsets.IncompatibleFeatures..], IncompatibleFeatures);
            BinaryPrimitives.WriteUInt64BigEndian(span[FieldOffsets.CompatibleFeatures..], CompatibleFeatures);
            BinaryPrimitives.WriteUInt64BigEndian(span[FieldOffsets.AutoclearFeatures..], AutoclearFeatures);
            BinaryPrimitives.WriteUInt32BigEndian(span[FieldOffsets.RefcountOrder..], (uint)RefcountOrder);
            var headerLength = Qcow2Constants.Version3HeaderLength + UnknownHeaderFields.Length;
            BinaryPrimitives.WriteUInt32BigEndian(span[FieldOffsets.HeaderLength..], (uint)headerLength);
            span[FieldOffsets.CompressionType] = (byte)CompressionType;
            UnknownHeaderFields.CopyTo(span[Qcow2Constants.Version3HeaderLength..]);
            position = headerLength;
        }
        else
        {
            position = Qcow2Constants.Version2HeaderLength;
        }

        foreach (var extension in Extensions)
        {
            var padded = (extension.Data.Length + 7) & ~7;
            EnsureFits(position + 8 + padded);
            BinaryPrimitives.WriteUInt32BigEndian(span[position..], extension.Magic);
            BinaryPrimitives.WriteUInt32BigEndian(span[(position + 4)..], (uint)extension.Data.Length);
            extension.Data.CopyTo(span[(position + 8)..]);
            position += 8 + padded;
        }

        EnsureFits(position + 8);
        position += 8; // end-of-extensions marker: eight zero bytes
        if (BackingFile is not null)
        {
            var name = Encoding.UTF8.GetBytes(BackingFile);
            EnsureFits(position + name.Length);
            name.CopyTo(span[position..]);
            BinaryPrimitives.WriteInt64BigEndian(span[FieldOffsets.BackingFileOffset..], position);
            BinaryPrimitives.WriteUInt32BigEndian(span[FieldOffsets.BackingFileSize..], (uint)name.Length);
        }

        return cluster;
    }

    private void EnsureFits(int end)
    {
        if (end > ClusterSize)
        {
            throw new InvalidOptionException("The qcow2 header, its extensions and the backing file name do not fit in one cluster");
        }
    }
}
