using System.Globalization;

namespace DiskImage.IO.Curl;

/// <summary>A failed transfer, its message in libcurl's words (what QEMU's curl driver prints after its own prefix).</summary>
internal sealed class CurlTransferException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>libcurl's words when a transfer outlives its timeout.</summary>
    public static CurlTransferException TimedOut(long milliseconds, long received, Exception? inner = null) =>
        new(string.Create(CultureInfo.InvariantCulture, $"Operation timed out after {milliseconds} milliseconds with {received} bytes received"), inner);
}
