namespace DiskImage.Operations.Conversion;

/// <summary>How far a copy has got: bytes of the target's guest range done (written or skipped) of the total.</summary>
public readonly record struct CopyProgress(long BytesDone, long TotalBytes)
{
    /// <summary>Completion from 0 to 100.</summary>
    public double Percent => TotalBytes == 0 ? 100 : BytesDone * 100.0 / TotalBytes;
}
