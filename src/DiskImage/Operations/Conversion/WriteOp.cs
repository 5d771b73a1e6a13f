namespace DiskImage.Operations.Conversion;

/// <summary>What a write to the target does.</summary>
internal enum WriteOpKind
{
    /// <summary>Write bytes from the chunk buffer.</summary>
    Data,

    /// <summary>Store one compressed cluster from the compression buffer.</summary>
    Compressed,

    /// <summary>Make the range read as zeroes.</summary>
    Zeroes,

    /// <summary>Write literal zero bytes (<c>-S 0</c>: fully allocate).</summary>
    ZeroBytes,

    /// <summary>Copy straight from a raw source file to the raw target file.</summary>
    CopyRange,
}

/// <summary>One write to the target, prepared by a worker and applied by the writer.</summary>
/// <param name="Kind">What the write does.</param>
/// <param name="TargetOffset">Guest offset in the target.</param>
/// <param name="Length">Bytes the write covers.</param>
/// <param name="BufferOffset">Offset in the chunk or compression buffer (Data, Compressed).</param>
/// <param name="SourceIndex">Source file (CopyRange).</param>
/// <param name="SourceOffset">Offset in the source file (CopyRange).</param>
internal readonly record struct WriteOp(WriteOpKind Kind, long TargetOffset, long Length, int BufferOffset = 0, int SourceIndex = 0, long SourceOffset = 0);
