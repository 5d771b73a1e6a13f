namespace DiskImage.Formats;

/// <summary>
/// An image whose host space for a write can be taken in one short step and filled later, from any thread. A copy
/// takes the space in guest order, so the host layout is what writing in order gives, and lets the data writes of
/// several chunks run at once.
/// </summary>
internal interface IReservingWriter
{
    /// <summary>
    /// Takes host space for a write of <paramref name="length"/> bytes at <paramref name="offset"/>; null when the write
    /// cannot be split so (the range is not whole unallocated clusters): the caller then writes it with
    /// <see cref="IO.IBlockDevice.Write(long, ReadOnlySpan{byte})"/> instead, in order.
    /// </summary>
    IReservedWrite? TryReserve(long offset, int length);
}

/// <summary>Host space taken by <see cref="IReservingWriter.TryReserve"/>; exactly one of its methods is called once.</summary>
internal interface IReservedWrite
{
    /// <summary>Writes the data into the space, then links it into the image's metadata (data before the metadata pointing at it).</summary>
    void Write(ReadOnlySpan<byte> data);

    /// <summary>Gives the space back unwritten (the copy failed or stopped).</summary>
    void Abort();
}
