namespace DiskImage.Formats.Qcow2;

/// <summary>How compressed clusters are encoded (header byte 104).</summary>
public enum Qcow2CompressionType
{
    /// <summary>Raw deflate (RFC 1951), which qemu-img calls <c>zlib</c>.</summary>
    Zlib = 0,

    /// <summary>A bare zstd frame; needs version 3.</summary>
    Zstd = 1,
}
