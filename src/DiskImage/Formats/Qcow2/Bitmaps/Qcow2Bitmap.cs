namespace DiskImage.Formats.Qcow2.Bitmaps;

/// <summary>One entry of the bitmap directory, as validated at open.</summary>
internal sealed record Qcow2Bitmap(string Name, int GranularityBits, uint Flags, long TableOffset, int TableSize)
{
    /// <summary>The bitmap was open read-write when the image was last closed: its data is not to be trusted.</summary>
    public bool InUse => (Flags & Qcow2BitmapLimits.FlagInUse) != 0;

    /// <summary>The bitmap tracks writes (QEMU's "auto": enabled on open).</summary>
    public bool Auto => (Flags & Qcow2BitmapLimits.FlagAuto) != 0;

    public long Granularity => 1L << GranularityBits;

    /// <summary>Bytes of the directory entry: the fixed part and the name, padded to 8.</summary>
    public int EntrySize => Qcow2BitmapLimits.EntrySize(System.Text.Encoding.UTF8.GetByteCount(Name));

    /// <summary>The flags as <c>qemu-img info</c> names them, in its order.</summary>
    public IReadOnlyList<string> FlagNames => (InUse, Auto) switch
    {
        (true, true) => ["in-use", "auto"],
        (true, false) => ["in-use"],
        (false, true) => ["auto"],
        _ => [],
    };
}
