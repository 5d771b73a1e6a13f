namespace DiskImage.Nbd;

/// <summary>Numbers of the NBD protocol (fixed newstyle handshake, structured replies, meta contexts).</summary>
internal static class NbdConstants
{
    public const ulong NbdMagic = 0x4e42444d41474943; // "NBDMAGIC"
    public const ulong OptionMagic = 0x49484156454F5054; // "IHAVEOPT"

    /// <summary>Second magic of the oldstyle handshake, where the export's size and flags follow at once.</summary>
    public const ulong OldstyleMagic = 0x0000420281861253;
    public const ulong OptionReplyMagic = 0x0003e889045565a9;
    public const uint RequestMagic = 0x25609513;
    public const uint SimpleReplyMagic = 0x67446698;
    public const uint StructuredReplyMagic = 0x668e33ef;

    public const ushort FlagFixedNewstyle = 1;
    public const ushort FlagNoZeroes = 2;

    public const int DefaultPort = NbdServerOptions.DefaultPort;

    /// <summary>Largest payload of one request, as qemu-nbd announces it (32 MiB).</summary>
    public const int MaxPayload = 32 << 20;

    /// <summary>Longest option payload accepted; names are at most 4 KiB, so this is generous.</summary>
    public const int MaxOptionLength = 64 << 10;

    public const string BaseAllocation = "base:allocation";
    public const string AllocationDepth = "qemu:allocation-depth";

    /// <summary>Meta contexts of dirty bitmaps are this prefix and the bitmap's name.</summary>
    public const string DirtyBitmapPrefix = "qemu:dirty-bitmap:";

    /// <summary>qemu-nbd's context id of the first exported bitmap (after base:allocation 0, qemu:allocation-depth 1).</summary>
    public const int FirstDirtyBitmapContextId = 2;
}

/// <summary>Handshake options.</summary>
internal enum NbdOption : uint
{
    ExportName = 1,
    Abort = 2,
    List = 3,
    StartTls = 5,
    Info = 6,
    Go = 7,
    StructuredReply = 8,
    ListMetaContext = 9,
    SetMetaContext = 10,
}

/// <summary>Option reply types; errors have the top bit set.</summary>
internal enum NbdOptionReply : uint
{
    Ack = 1,
    Server = 2,
    Info = 3,
    MetaContext = 4,
    ErrorUnsupported = 0x80000001,
    ErrorPolicy = 0x80000002,
    ErrorInvalid = 0x80000003,
    ErrorPlatform = 0x80000004,
    ErrorTlsRequired = 0x80000005,
    ErrorUnknown = 0x80000006,
    ErrorShutdown = 0x80000007,
    ErrorBlockSizeRequired = 0x80000008,
    ErrorTooBig = 0x80000009,
}

/// <summary><c>NBD_INFO_*</c> items of <c>NBD_OPT_INFO</c>/<c>GO</c>.</summary>
internal enum NbdInfo : ushort
{
    Export = 0,
    Name = 1,
    Description = 2,
    BlockSize = 3,
}

/// <summary>Transmission flags sent with the export size.</summary>
[Flags]
public enum NbdTransmissionFlags : ushort
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary><c>NBD_FLAG_HAS_FLAGS</c>: always set by a server.</summary>
    HasFlags = 1 << 0,

    /// <summary>The export refuses writes.</summary>
    ReadOnly = 1 << 1,

    /// <summary>The server takes flush commands.</summary>
    SendFlush = 1 << 2,

    /// <summary>The server honours force-unit-access on writes.</summary>
    SendFua = 1 << 3,

    /// <summary>The export is on a rotational medium (a hint only).</summary>
    Rotational = 1 << 4,

    /// <summary>The server takes trim (discard) commands.</summary>
    SendTrim = 1 << 5,

    /// <summary>The server takes write-zeroes commands.</summary>
    SendWriteZeroes = 1 << 6,

    /// <summary>The server honours don't-fragment on structured reads.</summary>
    SendDf = 1 << 7,

    /// <summary>Several connections to the export see one consistent state.</summary>
    CanMultiConn = 1 << 8,

    /// <summary>The server takes resize commands.</summary>
    SendResize = 1 << 9,

    /// <summary>The server takes cache (prefetch) commands.</summary>
    SendCache = 1 << 10,

    /// <summary>The server honours fast-zero on write-zeroes.</summary>
    SendFastZero = 1 << 11,
}

/// <summary>Transmission-phase commands.</summary>
internal enum NbdCommand : ushort
{
    Read = 0,
    Write = 1,
    Disconnect = 2,
    Flush = 3,
    Trim = 4,
    Cache = 5,
    WriteZeroes = 6,
    BlockStatus = 7,
}

/// <summary>Per-command flags.</summary>
[Flags]
internal enum NbdCommandFlags : ushort
{
    None = 0,
    Fua = 1 << 0,
    NoHole = 1 << 1,
    DontFragment = 1 << 2,
    RequestOne = 1 << 3,
    FastZero = 1 << 4,
}

/// <summary>Structured reply chunk types.</summary>
internal enum NbdReplyType : ushort
{
    None = 0,
    OffsetData = 1,
    OffsetHole = 2,
    BlockStatus = 5,
    Error = 0x8001,
    ErrorOffset = 0x8002,
}

/// <summary>Error values on the wire (Linux errno numbers, as the protocol defines them).</summary>
internal enum NbdError : uint
{
    None = 0,
    NotPermitted = 1,
    IoError = 5,
    OutOfMemory = 12,
    InvalidArgument = 22,
    NoSpace = 28,
    Overflow = 75,
    NotSupported = 95,
    Shutdown = 108,
}

/// <summary><c>base:allocation</c> status flags.</summary>
[Flags]
public enum NbdAllocationFlags : uint
{
    /// <summary>Allocated data (no flag set).</summary>
    Data = 0,

    /// <summary><c>NBD_STATE_HOLE</c>: not allocated on the server.</summary>
    Hole = 1,

    /// <summary><c>NBD_STATE_ZERO</c>: reads as zeroes.</summary>
    Zero = 2,
}
