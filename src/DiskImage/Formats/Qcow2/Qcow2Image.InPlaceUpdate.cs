namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image : IInPlaceUpdateMarker
{
    /// <summary>Set while an in-place update runs: closing the image then keeps the dirty bit, so an unfinished update shows.</summary>
    private bool _inPlaceUpdate;

    /// <summary>
    /// Sets the dirty bit and syncs the header before the update's first write (version 3 only; version 2 has no
    /// such bit). The refcounts stay exact throughout, so QEMU's repair of a dirty image finds leaks at worst.
    /// </summary>
    bool IInPlaceUpdateMarker.BeginInPlaceUpdate()
    {
        lock (_lock)
        {
            CheckWritable();
            if (_header.Version < 3)
            {
                return false;
            }

            if (!_header.IsDirty)
            {
                _header = _header with { IncompatibleFeatures = _header.IncompatibleFeatures | Qcow2Constants.IncompatibleDirty };
                WriteHeaderLocked();
                _file.Flush();
            }

            _inPlaceUpdate = true;
            return true;
        }
    }

    /// <summary>Writes every pending table, syncs, and only then clears the dirty bit (QEMU's order for marking clean).</summary>
    void IInPlaceUpdateMarker.EndInPlaceUpdate()
    {
        lock (_lock)
        {
            if (!_inPlaceUpdate)
            {
                return;
            }

            FlushMetadataLocked();
            _file.Flush();
            _header = _header with { IncompatibleFeatures = _header.IncompatibleFeatures & ~Qcow2Constants.IncompatibleDirty };
            WriteHeaderLocked();
            _file.Flush();
            _inPlaceUpdate = false;
            _dirtyBitSetHere = false;
        }
    }
}
