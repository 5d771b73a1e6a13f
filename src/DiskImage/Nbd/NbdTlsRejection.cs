namespace DiskImage.Nbd;

/// <summary>Why a client refused the server's certificate, in qemu's words; null while nothing was refused.</summary>
public sealed class NbdTlsRejection
{
    /// <summary>qemu's words for the refusal, or null.</summary>
    public string? Reason { get; internal set; }
}
