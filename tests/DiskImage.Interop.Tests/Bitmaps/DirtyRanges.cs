using System.Globalization;
using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Nbd;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// A bitmap's dirty granules as QEMU reads them: <c>qemu-nbd -B NAME</c> serving the image and
/// <c>qemu-img map</c> with <c>x-dirty-bitmap</c>, where dirty ranges show as <c>"data": false</c>.
/// </summary>
internal static class DirtyRanges
{
    public static SortedSet<long> Read(string image, string bitmap, long granularity)
    {
        var socket = image + ".sock";
        File.Delete(socket); // a stale socket file would pass for a listening server
        using var server = NbdProcess.Tool("qemu-nbd", socket, 0, "-r", "-t", "-f", "qcow2", "-B", bitmap, "-k", socket, image);
        return Map(socket, bitmap, granularity);
    }

    /// <summary>The dirty granules an NBD server on <paramref name="socket"/> reports in <c>qemu:dirty-bitmap:NAME</c>.</summary>
    public static SortedSet<long> Map(string socket, string bitmap, long granularity)
    {
        var json = ExternalTool.QemuImg("map", "--output=json", "--image-opts",
            $"driver=nbd,server.type=unix,server.path={socket},x-dirty-bitmap=qemu:dirty-bitmap:{bitmap}");
        var dirty = new SortedSet<long>();
        foreach (var entry in JsonDocument.Parse(json).RootElement.EnumerateArray())
        {
            if (entry.GetProperty("data").GetBoolean())
            {
                continue;
            }

            var start = entry.GetProperty("start").GetInt64();
            var end = start + entry.GetProperty("length").GetInt64();
            for (var granule = start / granularity; granule * granularity < end; granule++)
            {
                dirty.Add(granule);
            }
        }

        return dirty;
    }

    public static string Describe(IEnumerable<long> granules) => string.Join(",", granules.Take(40).Select(g => g.ToString(CultureInfo.InvariantCulture)));
}
