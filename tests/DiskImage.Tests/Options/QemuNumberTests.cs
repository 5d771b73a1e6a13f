using DiskImage.Options;

namespace DiskImage.Tests.Options;

/// <summary>QEMU's number options follow strtoull with base 0: sign and white space first, 0x hex, leading-zero octal.</summary>
public class QemuNumberTests
{
    [Theory]
    [InlineData("16", 16UL)]
    [InlineData(" 16", 16UL)]
    [InlineData("+16", 16UL)]
    [InlineData("0x10", 16UL)]
    [InlineData("010", 8UL)]
    [InlineData("0", 0UL)]
    [InlineData("-1", ulong.MaxValue)]
    [InlineData("-0x8", ulong.MaxValue - 7)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    public void Parses_as_strtoull(string text, ulong expected) => Assert.Equal(expected, QemuNumber.Parse("k", text));

    [Theory]
    [InlineData("", "Parameter 'k' expects a number")]
    [InlineData("16x", "Parameter 'k' expects a number")]
    [InlineData("08", "Parameter 'k' expects a number")]
    [InlineData("1e1", "Parameter 'k' expects a number")]
    [InlineData("18446744073709551616", "Value '18446744073709551616' is too large for parameter 'k'")]
    public void Refuses_with_qemus_words(string text, string message) =>
        Assert.Equal(message, Assert.Throws<InvalidOptionException>(() => QemuNumber.Parse("k", text)).Message);
}
