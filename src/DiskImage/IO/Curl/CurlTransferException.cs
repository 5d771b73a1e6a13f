namespace DiskImage.IO.Curl;

/// <summary>A failed transfer, its message in libcurl's words (what QEMU's curl driver prints after its own prefix).</summary>
internal sealed class CurlTransferException(string message, Exception? inner = null) : Exception(message, inner);
