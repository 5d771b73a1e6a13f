using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DiskImage.Operations.Conversion;

/// <summary>
/// Where chunk data starts inside a pooled array: on a page boundary, as the page cache's own pages are. The
/// kernel's copies between a file's pages and a buffer that starts 16 bytes into a page (where a byte array's
/// data lies) ran up to four times slower on this project's AMD EPYC benchmark machine than with a page-aligned
/// buffer, which is what qemu-img reads and writes from.
/// </summary>
internal static class IoAlignment
{
    /// <summary>The alignment, and the slack a rented array needs beyond the data.</summary>
    public const int Bytes = 4096;

    /// <summary>The offset of the first page-aligned byte of <paramref name="array"/>.</summary>
    /// <remarks>
    /// Large arrays are not moved by the GC unless the large object heap is compacted on request; if one is, the data
    /// stays correct and only the alignment is lost.
    /// </remarks>
    public static unsafe int Start(byte[] array)
    {
        var address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (int)((Bytes - (address & (Bytes - 1))) & (Bytes - 1));
    }
}
