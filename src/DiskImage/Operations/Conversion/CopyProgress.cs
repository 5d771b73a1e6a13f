namespace DiskImage.Operations.Conversion;

/// <summary>How far a copy has got: bytes of the target's guest range done (written or skipped) of the total.</summary>
internal readonly record struct CopyProgress(long BytesDone, long TotalBytes)
{
    /// <summary>Completion from 0 to 100.</summary>
    public double Percent => TotalBytes == 0 ? 100 : BytesDone * 100.0 / TotalBytes;

    /// <summary>Bytes of the sources' data (allocated, non-zero runs) copied so far.</summary>
    public long DataDone { get; init; }

    /// <summary>
    /// Bytes of data the whole copy reads, known from a block-status pass before copying. qemu-img's convert
    /// measures its progress in these, so its percentages only move while data is copied.
    /// </summary>
    public long DataTotal { get; init; }
}
