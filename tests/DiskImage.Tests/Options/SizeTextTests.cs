using DiskImage.Options;

namespace DiskImage.Tests.Options;

public class SizeTextTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("512", 512L)]
    [InlineData("64k", 65536L)]
    [InlineData("64K", 65536L)]
    [InlineData("512M", 536870912L)]
    [InlineData("10G", 10737418240L)]
    [InlineData("1T", 1099511627776L)]
    [InlineData("1.5M", 1572864L)]
    [InlineData("100b", 100L)]
    public void Parses_qemu_sizes(string text, long expected) => Assert.Equal(expected, SizeText.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("10X")]
    [InlineData("99999999999E")]
    [InlineData("1.5")]
    public void Refuses_bad_sizes(string text) => Assert.Throws<InvalidOptionException>(() => SizeText.Parse(text));

    // Hexadecimal sizes as strtoull with base 16 reads them: b and e are digits, other suffixes multiply; no fraction.
    [Theory]
    [InlineData("0x10000", 65536L)]
    [InlineData("0X400", 1024L)]
    [InlineData("0x1bE", 446L)]
    [InlineData("0x10k", 16384L)]
    [InlineData("00x2M", 2097152L)]
    public void Parses_hexadecimal_sizes(string text, long expected) => Assert.Equal(expected, SizeText.Parse(text));

    [Theory]
    [InlineData("0x")]
    [InlineData("0x1.5k")]
    [InlineData("0x1kk")]
    [InlineData("0xg")]
    public void Refuses_bad_hexadecimal_sizes(string text) => Assert.Throws<InvalidOptionException>(() => SizeText.Parse(text));

    [Theory]
    [InlineData(1073741824L, "1 GiB")]
    [InlineData(196608L, "192 KiB")]
    [InlineData(1572864L, "1.5 MiB")]
    [InlineData(0L, "0 B")]
    public void Formats_like_qemu_img(long bytes, string expected) => Assert.Equal(expected, SizeText.ToHuman(bytes));
}
