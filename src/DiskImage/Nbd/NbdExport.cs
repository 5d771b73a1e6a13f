using DiskImage.Formats;

namespace DiskImage.Nbd;

/// <summary>What <c>NBD_CMD_TRIM</c> does: nothing (qemu-nbd's default) or release the space.</summary>
public enum NbdDiscardMode
{
    /// <summary>Trim requests succeed and do nothing.</summary>
    Ignore,
    /// <summary>Trim requests release the space in the image.</summary>
    Unmap,
}

/// <summary>qemu's <c>--detect-zeroes</c>: writes of all-zero data become zero writes (and may release space).</summary>
public enum NbdDetectZeroes
{
    /// <summary>Writes are passed on as they are.</summary>
    Off,
    /// <summary>All-zero writes become zero writes that keep the space allocated.</summary>
    On,
    /// <summary>All-zero writes become zero writes that may release the space (when trim is allowed).</summary>
    Unmap,
}

/// <summary>One image offered by an <see cref="NbdServer"/>. The server does not own the image.</summary>
public sealed record NbdExport
{
    /// <summary>The image served; it must stay open while the server runs.</summary>
    public required IDiskImage Image { get; init; }

    /// <summary>Export name clients ask for (qemu-nbd's <c>-x</c>; empty by default).</summary>
    public string Name { get; init; } = "";

    /// <summary>Free text shown by <c>NBD_OPT_LIST</c> and <c>NBD_INFO_DESCRIPTION</c>.</summary>
    public string? Description { get; init; }

    /// <summary>Refuse writes (also forced when the image is not writable).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Offer the <c>qemu:allocation-depth</c> meta context (qemu-nbd's <c>-A</c>).</summary>
    public bool AllocationDepth { get; init; }

    /// <summary>
    /// Persistent dirty bitmaps offered as <c>qemu:dirty-bitmap:NAME</c> meta contexts (qemu-nbd's <c>-B</c>), numbered in
    /// this order. Each is looked up in the image, then down its backing chain; a missing or inconsistent (<c>in_use</c>)
    /// one makes the <see cref="NbdServer"/> constructor throw. Block status reports each granule dirty (1) or clean (0).
    /// </summary>
    public IReadOnlyList<string> Bitmaps { get; init; } = [];

    /// <summary>What trim requests do (qemu-nbd's <c>--discard</c>).</summary>
    public NbdDiscardMode Discard { get; init; } = NbdDiscardMode.Ignore;

    /// <summary>Whether all-zero writes become zero writes (qemu-nbd's <c>--detect-zeroes</c>).</summary>
    public NbdDetectZeroes DetectZeroes { get; init; } = NbdDetectZeroes.Off;

    /// <summary>
    /// Announce <c>CAN_MULTI_CONN</c>. Safe here because every connection shares the one image object, so a
    /// flush on any connection covers writes completed on all of them; qemu-nbd sets it when it allows
    /// more than one client, and so does the CLI.
    /// </summary>
    public bool MultiConn { get; init; }

    /// <summary>Flush after every write, as if each had <c>FUA</c> (<c>--cache=writethrough|directsync</c>).</summary>
    public bool WriteThrough { get; init; }

    internal bool IsReadOnly => ReadOnly || !Image.CanWrite;

    /// <summary>
    /// The flags sent with the size; only what the server really does. <c>DF</c> only once structured replies are
    /// negotiated (the protocol forbids it before, and qemu-nbd leaves it out of an earlier INFO reply).
    /// </summary>
    internal NbdTransmissionFlags FlagsFor(bool structured)
    {
        var flags = NbdTransmissionFlags.HasFlags | NbdTransmissionFlags.SendFlush | NbdTransmissionFlags.SendFua
            | NbdTransmissionFlags.SendCache;
        if (structured)
        {
            flags |= NbdTransmissionFlags.SendDf;
        }

        if (IsReadOnly)
        {
            flags |= NbdTransmissionFlags.ReadOnly;
        }
        else
        {
            flags |= NbdTransmissionFlags.SendTrim | NbdTransmissionFlags.SendWriteZeroes | NbdTransmissionFlags.SendFastZero;
        }

        if (MultiConn)
        {
            flags |= NbdTransmissionFlags.CanMultiConn;
        }

        return flags;
    }
}
