namespace DiskImage.Formats.Filters.Throttle;

/// <summary>The six limits a throttle group keeps, in the order QEMU checks and reports them.</summary>
internal enum ThrottleBucketKind
{
    BpsTotal,
    BpsRead,
    BpsWrite,
    OpsTotal,
    OpsRead,
    OpsWrite,
}

/// <summary>
/// One leaky bucket: an average rate (<see cref="Average"/> per second), an optional burst rate
/// (<see cref="Max"/>) allowed for <see cref="BurstLength"/> seconds, and the levels the requests so far have filled.
/// Unsigned as in QEMU, so a negative value given through <c>limits.*</c> reads as a huge one and fails the range check.
/// </summary>
internal sealed class ThrottleBucket
{
    public ulong Average { get; set; }

    public ulong Max { get; set; }

    /// <summary>Seconds a burst at <see cref="Max"/> may last; 1 (no longer bursts) unless set.</summary>
    public uint BurstLength { get; set; } = 1;

    /// <summary>Units (bytes or operations) not yet leaked.</summary>
    public double Level { get; set; }

    /// <summary>Units not yet leaked at the burst rate (kept only for bursts longer than a second).</summary>
    public double BurstLevel { get; set; }

    /// <summary>Drains what <paramref name="elapsedNs"/> nanoseconds let through at each rate.</summary>
    public void Leak(long elapsedNs)
    {
        Level = Math.Max(Level - (Average * (double)elapsedNs / 1e9), 0);
        if (BurstLength > 1)
        {
            BurstLevel = Math.Max(BurstLevel - (Max * (double)elapsedNs / 1e9), 0);
        }
    }

    /// <summary>Nanoseconds until a request may go: zero while the bucket (and the burst bucket) has room.</summary>
    public long WaitNs()
    {
        if (Average == 0)
        {
            return 0;
        }

        // Without a burst rate, a tenth of a second's worth passes at once, so short bursts are not each delayed.
        var bucketSize = Max == 0 ? Average / 10.0 : (double)Max * BurstLength;
        var extra = Level - bucketSize;
        if (extra > 0)
        {
            return (long)(extra * 1e9 / Average);
        }

        if (BurstLength > 1)
        {
            extra = BurstLevel - (Max / 10.0);
            if (extra > 0)
            {
                return (long)(extra * 1e9 / Max);
            }
        }

        return 0;
    }

    /// <summary>Adds a request's units.</summary>
    public void Add(double units)
    {
        Level += units;
        if (BurstLength > 1)
        {
            BurstLevel += units;
        }
    }
}
