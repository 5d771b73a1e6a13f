using DiskImage.Formats.Filters.Throttle;

namespace DiskImage.Tests.Formats.Filters;

/// <summary>The leaky bucket of a throttle group, against the waits QEMU's algorithm gives.</summary>
public class ThrottleBucketTests
{
    [Fact]
    public void A_request_waits_until_the_bucket_has_drained_to_a_tenth_of_a_second()
    {
        var bucket = new ThrottleBucket { Average = 524288 };
        Assert.Equal(0, bucket.WaitNs());
        bucket.Add(1 << 20);

        // (1 MiB - 512 KiB / 10) at 512 KiB/s.
        Assert.InRange(bucket.WaitNs(), 1_899_999_000, 1_900_001_000);
        bucket.Leak(1_000_000_000);
        Assert.InRange(bucket.WaitNs(), 899_999_000, 900_001_000);
        bucket.Leak(5_000_000_000);
        Assert.Equal((0, 0.0), (bucket.WaitNs(), bucket.Level));
    }

    [Theory]
    [InlineData(100UL, 1000UL, 3U)]
    [InlineData(4096UL, 8192UL, 2U)]
    public void A_burst_passes_at_the_burst_rate_until_its_length_is_used(ulong average, ulong max, uint length)
    {
        var bucket = new ThrottleBucket { Average = average, Max = max, BurstLength = length };

        // The main bucket holds max * length; the burst bucket a tenth of a second at max.
        bucket.Add(max / 10.0);
        Assert.Equal(0, bucket.WaitNs());
        bucket.Add(max / 10.0);
        Assert.InRange(bucket.WaitNs(), 99_000_000, 101_000_000);
        bucket.Add(max * (double)length);
        Assert.True(bucket.WaitNs() > (long)(1e9 * max / 10 / average));
    }

    [Fact]
    public void Bad_combinations_are_refused_in_qemu_s_words()
    {
        var config = new ThrottleConfig();
        config[ThrottleBucketKind.BpsTotal].Average = 1;
        config[ThrottleBucketKind.BpsRead].Average = 1;
        Assert.Equal("bps/iops/max total values and read/write values cannot be used at the same time", config.Complaint());

        config = new ThrottleConfig { OperationSize = 4096 };
        Assert.Equal("iops size requires an iops value to be set", config.Complaint());
        config[ThrottleBucketKind.OpsWrite].Average = 10;
        Assert.Null(config.Complaint());
        config[ThrottleBucketKind.OpsWrite].BurstLength = 0;
        Assert.Equal("the burst length cannot be 0", config.Complaint());
    }
}
