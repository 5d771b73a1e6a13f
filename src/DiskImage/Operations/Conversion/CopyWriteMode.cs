namespace DiskImage.Operations.Conversion;

/// <summary>Which thread writes a processed chunk to the target, and in what order.</summary>
internal enum CopyWriteMode
{
    /// <summary>The calling thread, in target order.</summary>
    CallingThread,

    /// <summary>
    /// The worker that read the chunk, once every chunk before it is written: target order is kept, and the data is
    /// written from the core whose cache still holds it, without a hand-off to another thread.
    /// </summary>
    WorkersInOrder,

    /// <summary>The worker that read the chunk, as soon as it is ready (<c>-W</c>).</summary>
    WorkersAnyOrder,
}
