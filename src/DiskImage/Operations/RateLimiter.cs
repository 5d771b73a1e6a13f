using System.Diagnostics;

namespace DiskImage.Operations;

/// <summary>
/// qemu-img's <c>-r</c>: holds a copy to a number of bytes per second by sleeping whenever the bytes moved so far are
/// ahead of the time taken. Zero means no limit.
/// </summary>
internal sealed class RateLimiter(long bytesPerSecond)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _bytes;

    public void Account(long bytes, CancellationToken cancellationToken)
    {
        if (bytesPerSecond <= 0 || bytes <= 0)
        {
            return;
        }

        _bytes += bytes;
        var due = TimeSpan.FromSeconds((double)_bytes / bytesPerSecond);
        var ahead = due - _clock.Elapsed;
        if (ahead > TimeSpan.Zero)
        {
            cancellationToken.WaitHandle.WaitOne(ahead);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
