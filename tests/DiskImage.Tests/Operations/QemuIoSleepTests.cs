using DiskImage.Operations.Io;

namespace DiskImage.Tests.Operations;

/// <summary>qemu-io's <c>sleep MS</c>: milliseconds as strtol reads them, and qemu-io's words for a bad operand.</summary>
public class QemuIoSleepTests
{
    [Theory]
    [InlineData("sleep 0", 0L)]
    [InlineData("sleep 250", 250L)]
    [InlineData("sleep 0x10", 16L)]
    [InlineData("sleep 010", 8L)]
    public void Sleep_parses_milliseconds(string line, long expected) =>
        Assert.Equal(new QemuIoSleep(expected), QemuIoCommandParser.Parse(line));

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("5s")]
    [InlineData("09")]
    public void Bad_durations_are_reported_on_standard_output_as_qemu_io_does(string operand)
    {
        var e = Assert.Throws<QemuIoSyntaxException>(() => QemuIoCommandParser.Parse("sleep " + operand));

        // qemu-io 7.2 prints this line on standard output.
        Assert.Equal($"{operand} is not a valid number", e.Message);
        Assert.True(e.ToStandardOutput);
    }

    [Fact]
    public void Sleep_without_an_operand_is_a_bad_argument_count()
    {
        var e = Assert.Throws<QemuIoSyntaxException>(() => QemuIoCommandParser.Parse("sleep"));

        Assert.Equal("bad argument count 0 to sleep, expected 1 arguments", e.Message);
    }

    [Fact]
    public void Sleep_waits_at_least_the_time_asked()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();

        new QemuIoSleep(50).Run();

        Assert.True(watch.ElapsedMilliseconds >= 45, $"slept {watch.ElapsedMilliseconds} ms");
    }
}
