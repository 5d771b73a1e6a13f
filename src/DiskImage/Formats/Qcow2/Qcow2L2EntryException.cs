namespace DiskImage.Formats.Qcow2;

/// <summary>
/// An L1 or L2 entry that cannot be used (an L2 table or host offset off the cluster grid, subclusters both allocated and zero,
/// allocated subclusters without a host cluster). Carries the event text QEMU's driver prints when a guest read or
/// write meets such an entry, which differs slightly between the two paths.
/// </summary>
internal sealed class Qcow2L2EntryException : InvalidImageException
{
    public Qcow2L2EntryException(string message, long fileOffset, string readEvent, string writeEvent)
        : base(message, fileOffset)
    {
        ReadEvent = readEvent;
        WriteEvent = writeEvent;
    }

    /// <summary>The corruption event as a read (or block status) reports it.</summary>
    public string ReadEvent { get; }

    /// <summary>The corruption event as a write reports it.</summary>
    public string WriteEvent { get; }

    /// <summary>A number as C's <c>%#x</c> prints it: <c>0</c> for zero, <c>0x...</c> otherwise.</summary>
    public static string Hex(long value) => value == 0 ? "0" : $"0x{value:x}";

    /// <summary>A host cluster offset that is not a multiple of the cluster size.</summary>
    public static Qcow2L2EntryException Unaligned(long host, long l2Offset, int index, long entryOffset)
    {
        var text = $"Cluster allocation offset {Hex(host)} unaligned (L2 offset: {Hex(l2Offset)}, L2 index: {Hex(index)})";
        return new Qcow2L2EntryException(text, entryOffset, text, text);
    }

    /// <summary>An L1 entry whose L2 table offset is not a multiple of the cluster size.</summary>
    public static Qcow2L2EntryException UnalignedTable(long l2Offset, long l1Index, long entryOffset)
    {
        var text = $"L2 table offset {Hex(l2Offset)} unaligned (L1 index: {Hex(l1Index)})";
        return new Qcow2L2EntryException(text, entryOffset, text, text);
    }

    /// <summary>An extended L2 entry whose bitmap contradicts itself or its entry.</summary>
    public static Qcow2L2EntryException Invalid(string detail, long l2Offset, int index, long entryOffset)
    {
        var where = $"(L2 offset: {Hex(l2Offset)}, L2 index: {Hex(index)})";
        // QEMU's read path prints two spaces before the parenthesis, its write path one.
        return new Qcow2L2EntryException($"Invalid cluster entry found {where}: {detail}", entryOffset, $"Invalid cluster entry found  {where}", $"Invalid cluster entry found {where}");
    }
}
