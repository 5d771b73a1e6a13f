using DiskImage.Operations.Map;

namespace DiskImage.Formats;

/// <summary>
/// An image that can say what each cluster of its own host file holds (qcow2), so the allocation map can draw
/// the file beside the guest space. Guest-space pictures cannot show metadata: it has no guest address.
/// </summary>
internal interface IHostFileLayout
{
    /// <summary>Bytes the layout covers: the host file's length rounded up to whole clusters.</summary>
    long HostLayoutLength { get; }

    /// <summary>
    /// Calls <paramref name="report"/> with (offset, length, category) for consecutive runs covering
    /// <c>[0, HostLayoutLength)</c> in ascending order. Memory is bounded by the number of metadata clusters.
    /// </summary>
    void DescribeHostFile(Action<long, long, HostFileCategory> report);
}
