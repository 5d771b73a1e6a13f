namespace DiskImage.Formats.Filters.Throttle;

/// <summary>A throttle group's limits: a bucket per <see cref="ThrottleBucketKind"/> and the size one operation counts for.</summary>
internal sealed class ThrottleConfig
{
    /// <summary>The largest rate QEMU accepts (a million per second times a billion).</summary>
    public const ulong ValueMax = 1_000_000_000_000_000;

    public ThrottleBucket[] Buckets { get; } = [.. Enumerable.Range(0, 6).Select(_ => new ThrottleBucket())];

    /// <summary><c>iops-size</c>: a larger request counts as that many operations; zero counts every request as one.</summary>
    public ulong OperationSize { get; set; }

    public ThrottleBucket this[ThrottleBucketKind kind] => Buckets[(int)kind];

    /// <summary>Whether any average rate is set, so requests can be delayed at all.</summary>
    public bool Enabled => Buckets.Any(b => b.Average > 0);

    /// <summary>QEMU's first complaint about the combination, in its words; null when valid.</summary>
    public string? Complaint()
    {
        static bool Mixed(ulong total, ulong read, ulong write) => total != 0 && (read != 0 || write != 0);
        if (Mixed(this[ThrottleBucketKind.BpsTotal].Average, this[ThrottleBucketKind.BpsRead].Average, this[ThrottleBucketKind.BpsWrite].Average)
            || Mixed(this[ThrottleBucketKind.OpsTotal].Average, this[ThrottleBucketKind.OpsRead].Average, this[ThrottleBucketKind.OpsWrite].Average)
            || Mixed(this[ThrottleBucketKind.BpsTotal].Max, this[ThrottleBucketKind.BpsRead].Max, this[ThrottleBucketKind.BpsWrite].Max)
            || Mixed(this[ThrottleBucketKind.OpsTotal].Max, this[ThrottleBucketKind.OpsRead].Max, this[ThrottleBucketKind.OpsWrite].Max))
        {
            return "bps/iops/max total values and read/write values cannot be used at the same time";
        }

        if (OperationSize != 0 && this[ThrottleBucketKind.OpsTotal].Average == 0 && this[ThrottleBucketKind.OpsRead].Average == 0
            && this[ThrottleBucketKind.OpsWrite].Average == 0)
        {
            return "iops size requires an iops value to be set";
        }

        foreach (var bucket in Buckets)
        {
            var complaint = bucket switch
            {
                { Average: > ValueMax } or { Max: > ValueMax } => $"bps/iops/max values must be within [0, {ValueMax}]",
                { BurstLength: 0 } => "the burst length cannot be 0",
                { BurstLength: > 1, Max: 0 } => "burst length set without burst rate",
                { Max: > 0 } when bucket.BurstLength > ValueMax / bucket.Max => "burst length too high for this burst rate",
                { Max: > 0, Average: 0 } => "bps_max/iops_max require corresponding bps/iops values",
                { Max: > 0 } when bucket.Max < bucket.Average => "bps_max/iops_max cannot be lower than bps/iops",
                _ => null,
            };
            if (complaint is not null)
            {
                return complaint;
            }
        }

        return null;
    }
}
