namespace DiskImage.IO.Curl;

/// <summary>How many bytes one transfer has received so far, for libcurl's timeout message.</summary>
internal sealed class TransferProgress
{
    public long Received { get; set; }
}
