using System.Buffers.Binary;
using DiskImage.Operations.Check;

namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>
    /// A dirty (lazy-refcounts) image opened for writing is repaired by the check engine with every repair
    /// enabled, as QEMU does on open; it fails only when the check itself fails. A repair that leaves no
    /// corruption clears the dirty bit.
    /// </summary>
    private void RepairDirtyImageLocked()
    {
        CheckCounts result;
        try
        {
            result = Check(CheckRepair.All);
        }
        catch (CheckFailedException e)
        {
            throw new InvalidImageException($"Could not repair dirty image: {e.Message}", e);
        }

        foreach (var line in result.Messages)
        {
            _options.RepairReport?.Invoke(line);
        }

        if (result.CheckErrors != 0)
        {
            throw new InvalidImageException("Could not repair dirty image: Input/output error");
        }
    }

    private long SnapshotTableLength()
    {
        if (_snapshotTableLength is { } known)
        {
            return known;
        }

        long length = 0;
        Span<byte> fixedPart = stackalloc byte[Qcow2Constants.SnapshotHeaderSize];
        var offset = _header.SnapshotsOffset;
        for (var i = 0; i < _header.SnapshotCount; i++)
        {
            offset = (offset + 7) & ~7L;
            _file.Read(offset, fixedPart);
            var entry = Qcow2Constants.SnapshotHeaderSize + BinaryPrimitives.ReadUInt32BigEndian(fixedPart[36..])
                + BinaryPrimitives.ReadUInt16BigEndian(fixedPart[12..]) + BinaryPrimitives.ReadUInt16BigEndian(fixedPart[14..]);
            offset += entry;
        }

        length = offset - _header.SnapshotsOffset;
        return length;
    }
}
