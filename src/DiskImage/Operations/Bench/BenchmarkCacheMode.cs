namespace DiskImage.Operations.Bench;

/// <summary>qemu-img's <c>-t</c> cache modes, as far as they change what a benchmark run does.</summary>
public enum BenchmarkCacheMode
{
    /// <summary>Writes complete into the host page cache; one flush when the run ends (qemu-img bench's default).</summary>
    Writeback,

    /// <summary>Every write is flushed before it counts as complete.</summary>
    Writethrough,

    /// <summary>
    /// QEMU opens the file with O_DIRECT. The library always goes through the host page cache, so this
    /// behaves as <see cref="Writeback"/>; accepted so qemu-img command lines keep working.
    /// </summary>
    None,

    /// <summary>O_DIRECT plus a flush per write in QEMU; here a flush per write (see <see cref="None"/>).</summary>
    Directsync,

    /// <summary>No flush at all, not even at the end.</summary>
    Unsafe,
}
