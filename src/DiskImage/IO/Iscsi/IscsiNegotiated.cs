namespace DiskImage.IO.Iscsi;

/// <summary>
/// The operational parameters a login settled (RFC 7143 section 13): what the target receives per PDU, the burst
/// limits, whether data may go with the command, and whether headers carry a CRC32C digest.
/// </summary>
internal sealed record IscsiNegotiated
{
    /// <summary>What the initiator declares it receives per data segment, and so the bound on every segment read.</summary>
    public const int OurMaxRecvDataSegmentLength = 262144;

    /// <summary>What the initiator offers for both burst lengths.</summary>
    public const int OfferedBurstLength = 262144;

    public int TargetMaxRecvDataSegmentLength { get; init; } = 8192;

    public int MaxBurstLength { get; init; } = OfferedBurstLength;

    public int FirstBurstLength { get; init; } = 65536;

    public bool ImmediateData { get; init; } = true;

    public bool HeaderDigest { get; init; }
}
