namespace DiskImage.Formats.Qcow2;

/// <summary>Options for creating a qcow2 image, mirroring qemu-img's <c>-o</c> keys.</summary>
public sealed record Qcow2CreateOptions : ImageCreateOptions
{
    /// <summary>2 (<c>compat=0.10</c>) or 3 (<c>compat=1.1</c>, the default).</summary>
    public int Version { get; init; } = 3;

    /// <summary>Power of two from 512 to 2 MiB; 64 KiB by default.</summary>
    public int ClusterSize { get; init; } = 65536;

    /// <summary>Power of two from 1 to 64; 16 by default (and the only choice for version 2).</summary>
    public int RefcountBits { get; init; } = 16;

    /// <summary><c>lazy_refcounts=on</c>: refcounts may lag behind until the next check (version 3 only).</summary>
    public bool LazyRefcounts { get; init; }

    /// <summary>What to allocate at creation: nothing, metadata, or all data (falloc or full).</summary>
    public Preallocation Preallocation { get; init; } = Preallocation.Off;

    /// <summary>128-bit L2 entries with 32 subclusters per cluster; needs version 3 and clusters of 16 KiB or more.</summary>
    public bool ExtendedL2 { get; init; }

    /// <summary>Codec of compressed clusters (zstd needs version 3).</summary>
    public Qcow2CompressionType CompressionType { get; init; } = Qcow2CompressionType.Zlib;

    /// <summary>
    /// <c>encrypt.format=luks</c> and its <c>encrypt.*</c> settings; null for a plain image. The passphrase is
    /// the secret <see cref="Crypto.LuksCreateOptions.KeySecret"/> names, asked from <see cref="ImageCreateOptions.SecretProvider"/>.
    /// </summary>
    public Crypto.LuksCreateOptions? Encryption { get; init; }

    /// <summary>
    /// The secret id of qcow's legacy AES encryption (<c>encryption=on</c> or <c>encrypt.format=aes</c>); qemu-img
    /// still creates such images, whose header only records the method (no data is written encrypted at creation).
    /// </summary>
    public string? LegacyAesKeySecret { get; init; }

    /// <summary>
    /// <c>data_file</c>: the external data file that holds the guest data (created, or emptied, at this size); its name
    /// is stored in the image as given and opened relative to the working directory, as QEMU does. Needs version 3.
    /// </summary>
    public string? DataFile { get; init; }

    /// <summary>
    /// <c>data_file_raw</c>: the data file stays a valid raw image of the guest disk (every cluster mapped, zeroes written
    /// as zeroes). Needs <see cref="DataFile"/> and no backing file; implies metadata preallocation.
    /// </summary>
    public bool DataFileRaw { get; init; }
}
