namespace DiskImage.Formats.Parallels;

/// <summary>Options for creating a Parallels image (<c>qemu-img create -f parallels</c>).</summary>
public sealed record ParallelsCreateOptions : ImageCreateOptions
{
    /// <summary><c>cluster_size</c>: bytes per cluster, rounded up to whole sectors (default 1 MiB).</summary>
    public long ClusterSize { get; init; } = ParallelsHeader.DefaultClusterSize;
}
