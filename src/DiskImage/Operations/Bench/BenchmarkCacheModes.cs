namespace DiskImage.Operations.Bench;

/// <summary>Parses qemu-img's cache mode names.</summary>
public static class BenchmarkCacheModes
{
    /// <summary>Parses <c>none</c>, <c>writeback</c>, <c>writethrough</c>, <c>directsync</c> or <c>unsafe</c>.</summary>
    public static BenchmarkCacheMode Parse(string text) => text switch
    {
        "writeback" => BenchmarkCacheMode.Writeback,
        "writethrough" => BenchmarkCacheMode.Writethrough,
        "none" or "off" => BenchmarkCacheMode.None,
        "directsync" => BenchmarkCacheMode.Directsync,
        "unsafe" => BenchmarkCacheMode.Unsafe,
        _ => throw new InvalidOptionException($"Invalid cache option: {text}"),
    };

    /// <summary>Whether every write is followed by a flush.</summary>
    public static bool FlushesEachWrite(this BenchmarkCacheMode mode) =>
        mode is BenchmarkCacheMode.Writethrough or BenchmarkCacheMode.Directsync;
}
