namespace DiskImage.Formats.Qed;

/// <summary>Options for creating a QED image (<c>qemu-img create -f qed</c>).</summary>
public sealed record QedCreateOptions : ImageCreateOptions
{
    /// <summary><c>cluster_size</c>: bytes per cluster, a power of two from 4 KiB to 64 MiB.</summary>
    public long ClusterSize { get; init; } = QedHeader.DefaultClusterSize;

    /// <summary><c>table_size</c>: clusters per L1 and L2 table, a power of two from 1 to 16.</summary>
    public long TableSize { get; init; } = QedHeader.DefaultTableSize;
}
