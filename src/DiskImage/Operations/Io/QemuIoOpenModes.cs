namespace DiskImage.Operations.Io;

/// <summary>The cache, discard and aio mode names qemu accepts (<c>-t</c>, <c>-d</c>, <c>-i</c>).</summary>
public static class QemuIoOpenModes
{
    /// <summary>A cache mode; only <c>unsafe</c> changes anything here (flushes are then dropped).</summary>
    public static bool TryCache(string mode, out bool ignoreFlushes)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ignoreFlushes = mode == "unsafe";
        return mode is "none" or "off" or "writeback" or "unsafe" or "directsync" or "writethrough";
    }

    /// <summary>Cache modes without a volatile write cache: a completed write must be on stable storage.</summary>
    internal static bool IsWriteThrough(string? mode) => mode is "writethrough" or "directsync";

    /// <summary>A discard mode: <c>ignore</c>/<c>off</c> makes discards do nothing; <c>unmap</c>/<c>on</c> passes them on.</summary>
    public static bool TryDiscard(string mode, out bool ignoreDiscards)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ignoreDiscards = mode is "ignore" or "off";
        return mode is "ignore" or "off" or "unmap" or "on";
    }

    /// <summary>An aio engine name; every one behaves the same here.</summary>
    public static bool IsAio(string mode) => mode is "threads" or "native" or "io_uring";

    /// <summary>aio=native needs O_DIRECT: cache modes none and directsync, or -n.</summary>
    public static bool IsDirect(string? cacheMode) => cacheMode is "none" or "off" or "directsync";
}
