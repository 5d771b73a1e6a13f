namespace DiskImage.Formats.Qcow2;

/// <summary>The <c>format-specific</c> data <c>qemu-img info</c> prints for qcow2 (<c>type: "qcow2"</c>).</summary>
public sealed record Qcow2SpecificInfo() : FormatSpecificInfo("qcow2")
{
    /// <summary><c>compat</c>: "0.10" for version 2, "1.1" for version 3.</summary>
    public required string Compat { get; init; }

    /// <summary><c>compression-type</c>: "zlib" or "zstd".</summary>
    public required string CompressionType { get; init; }

    /// <summary><c>lazy-refcounts</c> (version 3 only).</summary>
    public bool? LazyRefcounts { get; init; }

    /// <summary><c>bitmaps</c>: the persistent dirty bitmaps; null when the image has none.</summary>
    public IReadOnlyList<DiskImage.Formats.Qcow2.Bitmaps.Qcow2BitmapInfo>? Bitmaps { get; init; }

    /// <summary><c>refcount-bits</c>.</summary>
    public required int RefcountBits { get; init; }

    /// <summary><c>corrupt</c> (version 3 only).</summary>
    public bool? Corrupt { get; init; }

    /// <summary><c>extended-l2</c> (version 3 only).</summary>
    public bool? ExtendedL2 { get; init; }

    /// <summary><c>data-file</c>: external data file name, when there is one.</summary>
    public string? DataFile { get; init; }

    /// <summary><c>data-file-raw</c>, when there is a data file.</summary>
    public bool? DataFileRaw { get; init; }

    /// <summary><c>encrypt</c>: the encryption format and, for LUKS, its header; null for plain images.</summary>
    public Crypto.EncryptionInfo? Encrypt { get; init; }
}
