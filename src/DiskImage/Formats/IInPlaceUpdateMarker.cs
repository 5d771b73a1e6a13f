namespace DiskImage.Formats;

/// <summary>
/// An image that can record in itself that a long in-place update (such as <c>convert -n</c> into it) is under
/// way, so that a run stopped by a signal, a crash or a cancellation stays detectable afterwards. qcow2 (version 3)
/// uses its dirty bit, which <c>qemu-img info</c> shows as <c>cleanly shut down: no</c>.
/// </summary>
internal interface IInPlaceUpdateMarker
{
    /// <summary>Marks the image as being updated, durably, before the first write of the update.</summary>
    /// <returns>False when the image has no way to record it (the caller documents what an interruption leaves).</returns>
    bool BeginInPlaceUpdate();

    /// <summary>Flushes everything the update wrote, then clears the mark. Not called when the update failed.</summary>
    void EndInPlaceUpdate();
}
