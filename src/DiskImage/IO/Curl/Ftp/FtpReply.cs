using System.Text;

namespace DiskImage.IO.Curl.Ftp;

/// <summary>How far <see cref="FtpReply.TryParse"/> got with the bytes it was given.</summary>
internal enum FtpReplyStatus
{
    /// <summary>The reply is not complete yet; read more and try again.</summary>
    NeedMore,

    /// <summary>One whole reply was read.</summary>
    Complete,

    /// <summary>The bytes are no FTP reply, or one longer than the limits.</summary>
    Malformed,
}

/// <summary>
/// One reply on an FTP control connection (RFC 959, section 4.2): a three-digit code and the text of its last line.
/// A multi-line reply starts with <c>ddd-</c> and ends at the first line that starts with the same code and a space.
/// Lines end in CRLF or a bare LF (as libcurl accepts). Everything is bounded: a line, the number of lines and the
/// reply's bytes, so that a server that never ends a line or a multi-line reply is refused, not waited for.
/// </summary>
internal readonly record struct FtpReply(int Code, string Text)
{
    /// <summary>The longest line taken, terminator included.</summary>
    public const int MaxLineLength = 4096;

    /// <summary>The most lines one reply may have.</summary>
    public const int MaxLines = 256;

    /// <summary>The most bytes one reply may take.</summary>
    public const int MaxReplyBytes = 64 * 1024;

    /// <summary>Whether the code is a preliminary one (1xx): the final reply is still to come.</summary>
    public bool IsPreliminary => Code is >= 100 and < 200;

    /// <summary>Whether the code says the command succeeded (2xx).</summary>
    public bool IsSuccess => Code is >= 200 and < 300;

    /// <summary>
    /// Reads the first reply in <paramref name="input"/>. On <see cref="FtpReplyStatus.Complete"/>,
    /// <paramref name="consumed"/> is how many bytes it took; otherwise nothing was taken.
    /// </summary>
    public static FtpReplyStatus TryParse(ReadOnlySpan<byte> input, out FtpReply reply, out int consumed)
    {
        reply = default;
        consumed = 0;
        var position = 0;
        var code = -1;
        for (var lines = 0; ; lines++)
        {
            if (lines >= MaxLines || position > MaxReplyBytes)
            {
                return FtpReplyStatus.Malformed;
            }

            var rest = input[position..];
            var end = rest.IndexOf((byte)'\n');
            if (end < 0)
            {
                return rest.Length >= MaxLineLength ? FtpReplyStatus.Malformed : FtpReplyStatus.NeedMore;
            }

            if (end + 1 > MaxLineLength)
            {
                return FtpReplyStatus.Malformed;
            }

            var line = rest[..end];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            position += end + 1;
            var lineCode = CodeOf(line);
            var separator = line.Length > 3 ? line[3] : (byte)' ';
            if (code < 0)
            {
                // The first line must carry the code, followed by a space (or nothing) or a hyphen.
                if (lineCode < 0 || separator is not ((byte)' ' or (byte)'-'))
                {
                    return FtpReplyStatus.Malformed;
                }

                code = lineCode;
                if (separator == (byte)'-')
                {
                    continue;
                }
            }
            else if (lineCode != code || separator != (byte)' ')
            {
                // A line inside a multi-line reply: any text.
                continue;
            }

            if (position > MaxReplyBytes)
            {
                return FtpReplyStatus.Malformed;
            }

            reply = new FtpReply(code, line.Length > 4 ? Encoding.Latin1.GetString(line[4..]) : "");
            consumed = position;
            return FtpReplyStatus.Complete;
        }
    }

    /// <summary>The reply code at the start of a line (first digit 1 to 5), or -1.</summary>
    private static int CodeOf(ReadOnlySpan<byte> line)
    {
        if (line.Length < 3 || line[0] is < (byte)'1' or > (byte)'5' || !char.IsAsciiDigit((char)line[1]) || !char.IsAsciiDigit((char)line[2]))
        {
            return -1;
        }

        return ((line[0] - '0') * 100) + ((line[1] - '0') * 10) + (line[2] - '0');
    }
}
