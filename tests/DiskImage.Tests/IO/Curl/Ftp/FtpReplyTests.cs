using System.Text;
using DiskImage.IO.Curl.Ftp;

namespace DiskImage.Tests.IO.Curl.Ftp;

public class FtpReplyTests
{
    [Theory]
    [InlineData("220 ready\r\n", 220, "ready")]
    [InlineData("220 ready\n", 220, "ready")]
    [InlineData("200\r\n", 200, "")]
    [InlineData("213 524288\r\n", 213, "524288")]
    [InlineData("230-Welcome\r\n230-second line\r\n230 Login successful.\r\n", 230, "Login successful.")]
    [InlineData("220-first\r\n 220 indented is text\r\n221 other code is text\r\n220-still text\r\n220 done\r\n", 220, "done")]
    [InlineData("227 Entering Passive Mode (127,0,0,1,4,1).\r\n", 227, "Entering Passive Mode (127,0,0,1,4,1).")]
    public void A_whole_reply_is_read(string input, int code, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(input);
        Assert.Equal(FtpReplyStatus.Complete, FtpReply.TryParse(bytes, out var reply, out var consumed));
        Assert.Equal((code, text, bytes.Length), (reply.Code, reply.Text, consumed));
    }

    [Fact]
    public void Only_the_first_reply_is_taken()
    {
        var bytes = "150 opening\r\n226 done\r\n"u8.ToArray();
        Assert.Equal(FtpReplyStatus.Complete, FtpReply.TryParse(bytes, out var first, out var consumed));
        Assert.Equal((150, 13), (first.Code, consumed));
        Assert.True(first.IsPreliminary);
        Assert.Equal(FtpReplyStatus.Complete, FtpReply.TryParse(bytes.AsSpan(consumed), out var second, out _));
        Assert.Equal(226, second.Code);
        Assert.True(second.IsSuccess);
    }

    [Theory]
    [InlineData("")]
    [InlineData("22")]
    [InlineData("220 no end yet")]
    [InlineData("230-first\r\n230-second\r\n")]
    [InlineData("230-first\r\n230")]
    public void A_reply_cut_short_needs_more(string input)
    {
        Assert.Equal(FtpReplyStatus.NeedMore, FtpReply.TryParse(Encoding.ASCII.GetBytes(input), out _, out var consumed));
        Assert.Equal(0, consumed);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\n")]
    [InlineData("hello\r\n")]
    [InlineData("020 zero class\r\n")]
    [InlineData("620 no such class\r\n")]
    [InlineData("2a0 letters\r\n")]
    [InlineData("220xno separator\r\n")]
    [InlineData("\r\n")]
    public void What_is_no_reply_is_malformed(string input)
    {
        Assert.Equal(FtpReplyStatus.Malformed, FtpReply.TryParse(Encoding.ASCII.GetBytes(input), out _, out _));
    }

    [Fact]
    public void A_line_without_end_is_refused_once_it_passes_the_limit()
    {
        var line = Encoding.ASCII.GetBytes("220 " + new string('a', FtpReply.MaxLineLength - 10));
        Assert.Equal(FtpReplyStatus.NeedMore, FtpReply.TryParse(line, out _, out _));
        var longer = Encoding.ASCII.GetBytes("220 " + new string('a', FtpReply.MaxLineLength));
        Assert.Equal(FtpReplyStatus.Malformed, FtpReply.TryParse(longer, out _, out _));
        Assert.Equal(FtpReplyStatus.Malformed, FtpReply.TryParse([.. longer, (byte)'\r', (byte)'\n'], out _, out _));
    }

    [Fact]
    public void A_multi_line_reply_without_end_is_refused_after_the_line_limit()
    {
        var lines = string.Concat(Enumerable.Repeat("230-more\r\n", FtpReply.MaxLines + 1));
        Assert.Equal(FtpReplyStatus.Malformed, FtpReply.TryParse(Encoding.ASCII.GetBytes(lines), out _, out _));
        var fewer = string.Concat(Enumerable.Repeat("230-more\r\n", FtpReply.MaxLines - 2)) + "230 end\r\n";
        Assert.Equal(FtpReplyStatus.Complete, FtpReply.TryParse(Encoding.ASCII.GetBytes(fewer), out _, out _));
    }

    [Fact]
    public void A_multi_line_reply_is_refused_past_the_byte_limit()
    {
        var line = "230-" + new string('x', FtpReply.MaxLineLength - 8) + "\r\n";
        var lines = string.Concat(Enumerable.Repeat(line, (FtpReply.MaxReplyBytes / line.Length) + 2)) + "230 end\r\n";
        Assert.Equal(FtpReplyStatus.Malformed, FtpReply.TryParse(Encoding.ASCII.GetBytes(lines), out _, out _));
    }

    [Fact]
    public void Fed_byte_by_byte_the_answer_is_the_same_as_whole()
    {
        var bytes = "230-Welcome\r\n230-x\n230 done\r\n226 next\r\n"u8.ToArray();
        Assert.Equal(FtpReplyStatus.Complete, FtpReply.TryParse(bytes, out var whole, out var wholeConsumed));
        for (var n = 0; n < wholeConsumed; n++)
        {
            Assert.Equal(FtpReplyStatus.NeedMore, FtpReply.TryParse(bytes.AsSpan(0, n), out _, out _));
        }

        Assert.Equal(FtpReplyStatus.Complete, FtpReply.TryParse(bytes.AsSpan(0, wholeConsumed), out var part, out var partConsumed));
        Assert.Equal((whole, wholeConsumed), (part, partConsumed));
    }
}
