namespace DiskImage.Nbd;

/// <summary>Why a client refused the server's certificate, in qemu's words; null while nothing was refused.</summary>
public sealed class NbdTlsRejection
{
    public string? Reason { get; internal set; }
}
