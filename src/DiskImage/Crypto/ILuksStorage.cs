namespace DiskImage.Crypto;

/// <summary>Access to a LUKS area (header and key material); offsets are relative to the header's start.</summary>
internal interface ILuksStorage
{
    /// <summary>Size of the area in bytes; key material must lie inside it.</summary>
    long Length { get; }

    void Read(long offset, Span<byte> buffer);

    void Write(long offset, ReadOnlySpan<byte> data);
}
