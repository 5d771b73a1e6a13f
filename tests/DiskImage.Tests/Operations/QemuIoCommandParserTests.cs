using DiskImage.Formats;
using DiskImage.Formats.Raw;
using DiskImage.Operations.Io;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Operations;

/// <summary>qemu-io's argument rules: numbers, pattern bytes, getopt, argument counts and their messages (as qemu-io 7.2 prints them).</summary>
public class QemuIoCommandParserTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("512", 512L)]
    [InlineData("010", 10L)]
    [InlineData("4k", 4096L)]
    [InlineData("4K", 4096L)]
    [InlineData("1.5k", 1536L)]
    [InlineData("2M", 2097152L)]
    [InlineData("1G", 1073741824L)]
    [InlineData("1T", 1099511627776L)]
    [InlineData("1b", 1L)]
    [InlineData("0x1000", 4096L)]
    [InlineData("0xab", 171L)]
    [InlineData("0x1e", 30L)]
    [InlineData("0x1k", 1024L)]
    public void Numbers_take_qemu_io_suffixes(string text, long expected) => Assert.Equal(expected, QemuIoNumber.Parse(text));

    [Theory]
    [InlineData("x")]
    [InlineData("1e3")]
    [InlineData("4kB")]
    [InlineData("1.5")]
    [InlineData("-1")]
    [InlineData("k")]
    [InlineData("0x")]
    [InlineData("0x1.5k")]
    public void Bad_numbers_are_refused_with_qemu_io_words(string text)
    {
        var e = Assert.Throws<QemuIoSyntaxException>(() => QemuIoNumber.Parse(text));
        Assert.Equal($"Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- {text}", e.Message);
    }

    [Theory]
    [InlineData("99999999999E")]
    [InlineData("99999999999999999999")]
    [InlineData("9223372036854775808")]
    public void Well_formed_numbers_past_int64_are_too_large(string text)
    {
        var e = Assert.Throws<QemuIoSyntaxException>(() => QemuIoNumber.Parse(text));
        Assert.Equal($"Parsing error: argument too large -- {text}", e.Message);
    }

    [Theory]
    [InlineData("205", 205)]
    [InlineData("0x41", 0x41)]
    [InlineData("0315", 205)]
    [InlineData("+7", 7)]
    [InlineData("0", 0)]
    public void Pattern_bytes_are_read_as_strtol_reads_them(string text, int expected)
    {
        Assert.True(QemuIoPattern.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("0x100")]
    [InlineData("-1")]
    [InlineData("ab")]
    [InlineData("1x")]
    [InlineData("09")]
    [InlineData("0x")]
    public void Bad_pattern_bytes_are_refused(string text) => Assert.False(QemuIoPattern.TryParse(text, out _));

    [Theory]
    [InlineData("bogus 0 1", "E:command \"bogus\" not found")]
    [InlineData("read", "E:bad argument count 0 to read, expected at least 2 arguments")]
    [InlineData("read 0", "E:bad argument count 1 to read, expected at least 2 arguments")]
    [InlineData("flush now", "E:bad argument count 1 to flush, expected 0 arguments")]
    [InlineData("alloc", "E:bad argument count 0 to alloc, expected between 1 and 2 arguments")]
    [InlineData("read -x 0 1", "E:read: invalid option -- 'x'|O:read [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number of bytes at a specified offset")]
    [InlineData("read -3 512", "E:read: invalid option -- '3'|O:read [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number of bytes at a specified offset")]
    [InlineData("read 0 1 -P", "E:read: option requires an argument -- 'P'|O:read [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number of bytes at a specified offset")]
    [InlineData("read -s 1 0 1", "O:read [-abCqv] [-P pattern [-s off] [-l len]] off len -- reads a number of bytes at a specified offset")]
    [InlineData("write -u 0 512", "O:-u requires -z to be specified")]
    [InlineData("write -n 0 512", "O:-n requires -z to be specified")]
    [InlineData("write -bz 0 512", "O:-b and -z cannot be specified at the same time")]
    [InlineData("write -cf 0 512", "O:-f and -b or -c cannot be specified at the same time")]
    [InlineData("write -c 1000 512", "O:1000 is not a sector-aligned value for 'offset'")]
    [InlineData("write -z -P 1 0 4k", "O:Only one of -z, -P, and -s can be specified at the same time")]
    [InlineData("write -P 0x100 0 1", "O:0x100 is not a valid pattern byte")]
    [InlineData("write 0 3G", "O:length cannot exceed 2147483136 without -n, given 3G")]
    [InlineData("read -P 1 -s 600 -l 10 0 512", "O:pattern verification range exceeds end of read data")]
    [InlineData("read 0 4G", "O:length cannot exceed 2147483136, given 4G")]
    [InlineData("read 0 x", "O:Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- x")]
    [InlineData("readv 0 3000000000", "O:Argument '3000000000' exceeds maximum size 2147483136")]
    [InlineData("readv 0 2000000000 2000000000", "O:The total number of bytes exceed the maximum size 2147483136")]
    [InlineData("aio_write -z 0 512 512", "O:-z supports only a single length parameter")]
    [InlineData("truncate -m bogus 1M", "P:Invalid preallocation mode 'bogus'")]
    [InlineData("sleep 09", "O:09 is not a valid number")]
    [InlineData("sigraise 99", "O:signal argument '99' is too large to be a valid signal")]
    [InlineData("break write_aio A", "O:Could not set breakpoint: Operation not supported")]
    [InlineData("open", "E:bad argument count 0 to open, expected at least 1 arguments")]
    [InlineData("open x", "P:file open already, try 'help close'")]
    public void Bad_commands_fail_with_qemu_io_lines(string line, string expected)
    {
        var outcome = Run(line);
        Assert.True(outcome.Failed);
        Assert.Equal(expected, Describe(outcome));
    }

    [Fact]
    public void Lengths_may_start_with_white_space_as_strtoull_allows()
    {
        var outcome = Run("writev -P 3 0 \t8k 4k");
        Assert.False(outcome.Failed);
        Assert.Equal("wrote 12288/12288 bytes at offset 0", outcome.Output[0]);
    }

    [Fact]
    public void Sleep_is_not_an_option_parser_and_reports_its_own_words()
    {
        // sleep has no getopt, so "-1" reaches strtol, unlike read's operands.
        var outcome = Run("sleep -1");
        Assert.True(outcome.Failed);
        Assert.Equal("O:-1 is not a valid number", Describe(outcome));
    }

    [Fact]
    public void Blank_lines_do_nothing_and_quit_stops()
    {
        var blank = Run("   ");
        Assert.False(blank.Failed);
        Assert.Empty(blank.Lines);
        Assert.True(Run("quit").Quit);
        Assert.True(Run("q").Quit);
        Assert.True(Run("abort").Abort);
    }

    private static IoCommandOutcome Run(string line)
    {
        using var dir = new TempDirectory();
        var path = dir.File("a.raw");
        RawFormat.Instance.Create(path, new RawCreateOptions { Size = 1 << 20 });
        using var image = ImageFormatRegistry.Default.Open(path, "raw", new ImageOpenOptions { ReadOnly = false });
        return new QemuIoSession(image).Execute(line);
    }

    private static string Describe(IoCommandOutcome outcome) => string.Join('|', outcome.Lines.Select(l => l.Stream switch
    {
        IoStream.Output => "O:",
        IoStream.Diagnostic => "E:",
        _ => "P:",
    } + l.Text));
}
