namespace DiskImage.Nbd;

/// <summary>What one client negotiated in the handshake.</summary>
internal sealed class NbdSession(Stream stream)
{
    /// <summary>The connection, wrapped in TLS when the client upgraded.</summary>
    public Stream Stream { get; set; } = stream;

    public bool Structured { get; set; }

    /// <summary>Meta context id of <c>base:allocation</c> when selected.</summary>
    public uint? BaseAllocationId { get; set; }

    /// <summary>Meta context id of <c>qemu:allocation-depth</c> when selected.</summary>
    public uint? AllocationDepthId { get; set; }

    /// <summary>The dirty bitmaps whose meta contexts are selected, in context id order.</summary>
    public IReadOnlyList<NbdExportBitmap> Bitmaps { get; set; } = [];

    public bool HasMetaContext => BaseAllocationId is not null || AllocationDepthId is not null || Bitmaps.Count > 0;
}
