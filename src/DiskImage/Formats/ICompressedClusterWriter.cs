namespace DiskImage.Formats;

/// <summary>
/// Implemented by images that can store compressed clusters (qcow2). The copy engine compresses on
/// its own worker threads with <see cref="TryCompressCluster"/> and hands finished clusters over,
/// so compression uses every core while metadata updates stay serialized inside the image.
/// </summary>
public interface ICompressedClusterWriter
{
    /// <summary>The unit of compression; guest offsets handed to <see cref="WriteCompressedCluster"/> are multiples of it.</summary>
    int ClusterSize { get; }

    /// <summary>
    /// Compresses one whole cluster with the image's compression type. Thread-safe and free of image
    /// state. Returns false when the result would not be smaller than the cluster (it is then written
    /// uncompressed, as QEMU does).
    /// </summary>
    bool TryCompressCluster(ReadOnlySpan<byte> cluster, Span<byte> output, out int written);

    /// <summary>Stores a cluster produced by <see cref="TryCompressCluster"/> at a cluster-aligned guest offset.</summary>
    void WriteCompressedCluster(long guestOffset, ReadOnlySpan<byte> compressed);
}
