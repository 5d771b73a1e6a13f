using System.Diagnostics;

namespace DiskImage.Formats.Filters.Throttle;

/// <summary>
/// A named set of limits shared by every throttle node that names it: each request waits until the group's leaky
/// buckets have room, then fills them with its bytes and operations (QEMU's util/throttle.c algorithm: the buckets
/// drain at their average rate, a tenth of a second's worth or the configured burst passes at once).
/// </summary>
internal sealed class ThrottleGroup
{
    private static readonly BucketPair[] ForRead = [new(ThrottleBucketKind.BpsTotal, ThrottleBucketKind.OpsTotal), new(ThrottleBucketKind.BpsRead, ThrottleBucketKind.OpsRead)];
    private static readonly BucketPair[] ForWrite = [new(ThrottleBucketKind.BpsTotal, ThrottleBucketKind.OpsTotal), new(ThrottleBucketKind.BpsWrite, ThrottleBucketKind.OpsWrite)];

    /// <summary>Requests take turns, so a waiting one keeps its place as QEMU's queue does.</summary>
    private readonly Lock _turn = new();
    private readonly ThrottleConfig _config;
    private long _previousLeak;

    public ThrottleGroup(string name, ThrottleConfig config)
    {
        Name = name;
        _config = config;
        _previousLeak = Now();
    }

    public string Name { get; }

    /// <summary>Waits until a request of <paramref name="bytes"/> may go, then counts it.</summary>
    public void Admit(long bytes, bool isWrite)
    {
        if (!_config.Enabled)
        {
            return;
        }

        lock (_turn)
        {
            for (var wait = WaitNs(isWrite); wait > 0; wait = WaitNs(isWrite))
            {
                // Whole milliseconds, rounded up, so the next look finds the room the wait was for.
                Thread.Sleep(TimeSpan.FromMilliseconds(Math.Ceiling(wait / 1e6)));
            }

            var units = _config.OperationSize != 0 && (ulong)bytes > _config.OperationSize ? (double)bytes / _config.OperationSize : 1.0;
            foreach (var pair in isWrite ? ForWrite : ForRead)
            {
                _config[pair.Bytes].Add(bytes);
                _config[pair.Operations].Add(units);
            }
        }
    }

    /// <summary>Drains the buckets for the time since the last look, then the longest wait any bucket for this direction asks.</summary>
    private long WaitNs(bool isWrite)
    {
        var now = Now();
        var elapsed = now - _previousLeak;
        _previousLeak = now;
        if (elapsed > 0)
        {
            foreach (var bucket in _config.Buckets)
            {
                bucket.Leak(elapsed);
            }
        }

        long wait = 0;
        foreach (var pair in isWrite ? ForWrite : ForRead)
        {
            wait = Math.Max(wait, Math.Max(_config[pair.Bytes].WaitNs(), _config[pair.Operations].WaitNs()));
        }

        return wait;
    }

    private static long Now() => (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));

    private readonly record struct BucketPair(ThrottleBucketKind Bytes, ThrottleBucketKind Operations);
}
