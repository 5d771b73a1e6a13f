using CsCheck;
using DiskImage.Codecs;

namespace DiskImage.Tests.Codecs;

/// <summary>The shared GLib-style Base64 reader against the BCL's strict one on canonical text, and its leniencies.</summary>
public class GlibBase64Tests
{
    [Fact]
    public void Canonical_text_decodes_as_the_bcl_decodes_it() =>
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            var text = Convert.ToBase64String(bytes);
            Assert.Equal(Convert.FromBase64String(text), GlibBase64.Decode(System.Text.Encoding.ASCII.GetBytes(text)));
        });

    [Fact]
    public void Line_breaks_in_canonical_text_change_nothing() =>
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            var text = Convert.ToBase64String(bytes, Base64FormattingOptions.InsertLineBreaks).ReplaceLineEndings("\n");
            Assert.Equal(Convert.FromBase64String(text), GlibBase64.Decode(System.Text.Encoding.ASCII.GetBytes(text)));
        });

    [Theory]
    [InlineData("aGVsbG8", "hel")] // a trailing partial group is dropped
    [InlineData("aG!Vs*bG8=", "hello")] // characters outside the alphabet are skipped
    [InlineData("aGk=aGk=", "hihi")] // padding suppresses bytes within its own group only
    [InlineData("", "")]
    public void Lenient_input_is_read_as_glib_reads_it(string text, string expected) =>
        Assert.Equal(System.Text.Encoding.ASCII.GetBytes(expected), GlibBase64.Decode(System.Text.Encoding.ASCII.GetBytes(text)));
}
