using System.Globalization;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// qcow2's metadata cache options (<c>cache-size</c>, <c>l2-cache-size</c>, <c>l2-cache-entry-size</c>,
/// <c>refcount-cache-size</c>, <c>cache-clean-interval</c>), accepted so that scripts passing them keep working and
/// checked as QEMU checks them against the opened image. This driver sizes its own caches; the values change nothing
/// about what is read or written.
/// </summary>
internal static class Qcow2CacheOptions
{
    private const ulong MinL2CacheEntries = 2;
    private const ulong MinRefcountCacheEntries = 4;
    private const ulong DefaultL2CacheMaxBytes = 32UL << 20;
    private const ulong IntMax = int.MaxValue;

    /// <summary>Refuses a combination QEMU refuses for an image of this geometry, in its words.</summary>
    /// <param name="options">The open options (sizes as byte counts); keys other than the cache ones are ignored.</param>
    /// <param name="clusterSize">The image's cluster size.</param>
    /// <param name="virtualSize">The image's virtual size.</param>
    /// <param name="l2EntryBytes">8, or 16 with extended L2 entries.</param>
    public static void Validate(IReadOnlyDictionary<string, string> options, int clusterSize, long virtualSize, int l2EntryBytes)
    {
        var combined = Get(options, "cache-size");
        var l2Setting = Get(options, "l2-cache-size");
        var refcountSetting = Get(options, "refcount-cache-size");
        var entrySetting = Get(options, "l2-cache-entry-size");
        var interval = Get(options, "cache-clean-interval");
        if (combined is null && l2Setting is null && refcountSetting is null && entrySetting is null && interval is null)
        {
            return;
        }

        var cluster = (ulong)clusterSize;
        var maxL2Entries = ((ulong)virtualSize + cluster - 1) / cluster;
        var maxL2Cache = (maxL2Entries * (ulong)l2EntryBytes + cluster - 1) / cluster * cluster;
        var minRefcountCache = MinRefcountCacheEntries * cluster;
        var l2Cache = Math.Min(maxL2Cache, l2Setting ?? DefaultL2CacheMaxBytes);
        var refcountCache = refcountSetting ?? 0;
        if (combined is { } total)
        {
            if (l2Setting is not null && refcountSetting is not null)
            {
                throw new InvalidOptionException("cache-size, l2-cache-size and refcount-cache-size may not be set at the same time");
            }

            if (l2Setting is { } l2 && l2 > total)
            {
                throw new InvalidOptionException("l2-cache-size may not exceed cache-size");
            }

            if (refcountCache > total)
            {
                throw new InvalidOptionException("refcount-cache-size may not exceed cache-size");
            }

            if (l2Setting is not null)
            {
                refcountCache = total - l2Cache;
            }
            else if (refcountSetting is not null)
            {
                l2Cache = total - refcountCache;
            }
            else if (total >= maxL2Cache + minRefcountCache)
            {
                l2Cache = maxL2Cache;
                refcountCache = total - l2Cache;
            }
            else
            {
                refcountCache = Math.Min(total, minRefcountCache);
                l2Cache = total - refcountCache;
            }
        }

        // A cache too small for the whole disk defaults to small entries, as in QEMU.
        var entry = entrySetting ?? (l2Cache < maxL2Cache ? Math.Min(cluster, 4096) : cluster);
        if (entry < 512 || entry > cluster || (entry & (entry - 1)) != 0)
        {
            throw new InvalidOptionException($"L2 cache entry size must be a power of two between 512 and the cluster size ({clusterSize})");
        }

        if (Math.Max(l2Cache / entry, MinL2CacheEntries) > IntMax)
        {
            throw new InvalidOptionException("L2 cache size too big");
        }

        if (Math.Max(refcountCache / cluster, MinRefcountCacheEntries) > IntMax)
        {
            throw new InvalidOptionException("Refcount cache size too big");
        }

        if (interval > uint.MaxValue)
        {
            throw new InvalidOptionException("Cache clean interval too big");
        }
    }

    private static ulong? Get(IReadOnlyDictionary<string, string> options, string key) =>
        options.TryGetValue(key, out var text) && ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
}
