using DiskImage.Operations.Io;

namespace DiskImage.Tests.Operations;

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
    [InlineData("99999999999E")]
    public void Bad_numbers_are_refused_with_qemu_io_words(string text)
    {
        var e = Assert.Throws<QemuIoSyntaxException>(() => QemuIoNumber.Parse(text));
        Assert.Equal($"Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- {text}", e.Message);
    }

    [Fact]
    public void Read_with_pattern_window_and_dump()
    {
        var read = Assert.IsType<QemuIoRead>(QemuIoCommandParser.Parse("read -v -P 0xab -s 16 -l 32 4k 64"));
        Assert.Equal(new QemuIoRead(4096, 64, 0xab, 16, 32, Dump: true, Quiet: false), read);
    }

    [Fact]
    public void Options_may_follow_the_operands_and_be_bundled()
    {
        Assert.Equal(new QemuIoRead(0, 512, null, 0, 512, true, true), QemuIoCommandParser.Parse("read 0 512 -qv"));
        Assert.Equal(new QemuIoWrite(1024, 4096, 0xcd, Zero: true, Unmap: true, Quiet: false), QemuIoCommandParser.Parse("write -zu 1k 4k"));
    }

    [Fact]
    public void Write_defaults_to_pattern_0xcd_and_takes_decimal_hex_and_octal_patterns()
    {
        Assert.Equal((byte)0xcd, Assert.IsType<QemuIoWrite>(QemuIoCommandParser.Parse("write 0 1")).Pattern);
        Assert.Equal((byte)205, Assert.IsType<QemuIoWrite>(QemuIoCommandParser.Parse("write -P 205 0 1")).Pattern);
        Assert.Equal((byte)0x41, Assert.IsType<QemuIoWrite>(QemuIoCommandParser.Parse("write -P0x41 0 1")).Pattern);
        Assert.Equal((byte)205, Assert.IsType<QemuIoWrite>(QemuIoCommandParser.Parse("w -P 0315 0 1")).Pattern);
    }

    [Fact]
    public void Simple_commands_parse()
    {
        Assert.IsType<QemuIoFlush>(QemuIoCommandParser.Parse("flush"));
        Assert.IsType<QemuIoFlush>(QemuIoCommandParser.Parse("aio_flush"));
        Assert.IsType<QemuIoInfo>(QemuIoCommandParser.Parse("info"));
        Assert.IsType<QemuIoLength>(QemuIoCommandParser.Parse("length"));
        Assert.Equal(new QemuIoDiscard(65536, 65536, false), QemuIoCommandParser.Parse("discard 64k 64k"));
    }

    [Theory]
    [InlineData("bogus 0 1", "command \"bogus\" not found")]
    [InlineData("", "command \"\" not found")]
    [InlineData("read", "bad argument count 0 to read, expected at least 2 arguments")]
    [InlineData("read 0", "bad argument count 1 to read, expected at least 2 arguments")]
    [InlineData("flush now", "bad argument count 1 to flush, expected 0 arguments")]
    [InlineData("read -x 0 1", "read: invalid option -- 'x'")]
    [InlineData("read -3 512", "read: invalid option -- '3'")]
    [InlineData("write -u 0 512", "-u requires -z to be specified")]
    [InlineData("write -z -P 1 0 4k", "Only one of -z, -P, and -s can be specified at the same time")]
    [InlineData("write -P 0x100 0 1", "0x100 is not a valid pattern byte")]
    [InlineData("write -P -1 0 1", "-1 is not a valid pattern byte")]
    [InlineData("write -P ab 0 1", "ab is not a valid pattern byte")]
    [InlineData("read -P 1 -s 600 -l 10 0 512", "pattern verification range exceeds end of read data")]
    [InlineData("read 0 4G", "length cannot exceed 2147483136, given 4G")]
    [InlineData("read 0 x", "Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- x")]
    public void Bad_commands_are_refused_with_one_message(string line, string message)
    {
        var e = Assert.Throws<QemuIoSyntaxException>(() => QemuIoCommandParser.Parse(line));
        Assert.Equal(message, e.Message);
    }
}
