namespace DiskImage.IO.Curl;

/// <summary>
/// A remote file read in byte ranges, as one of QEMU's curl drivers reads it (HTTP range requests, FTP
/// <c>REST</c>/<c>RETR</c>). Failures are <see cref="CurlTransferException"/> in libcurl's words.
/// </summary>
internal interface IRangeClient : IDisposable
{
    /// <summary>The file's length, checked as QEMU's driver checks it when it opens.</summary>
    long Size();

    /// <summary>Exactly <paramref name="count"/> bytes from <paramref name="offset"/>.</summary>
    byte[] Fetch(long offset, int count);
}
