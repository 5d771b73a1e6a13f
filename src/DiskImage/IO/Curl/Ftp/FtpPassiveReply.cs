using System.Globalization;
using System.Net;

namespace DiskImage.IO.Curl.Ftp;

/// <summary>
/// The port a server opens for a passive data connection: from an <c>EPSV</c> reply (229, RFC 2428:
/// <c>(|||port|)</c> with any one delimiter) or a <c>PASV</c> reply (227: six numbers <c>h1,h2,h3,h4,p1,p2</c>
/// somewhere in the text). The data connection always goes to the control connection's peer, as libcurl does by
/// default (CURLOPT_FTP_SKIP_PASV_IP): the host a PASV reply names is parsed and checked, never connected to.
/// </summary>
internal static class FtpPassiveReply
{
    /// <summary>The port of a 229 reply's text, or null when the text is not in RFC 2428's form.</summary>
    public static int? ParseEpsv(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var open = text.IndexOf('(', StringComparison.Ordinal);
        if (open < 0 || text.Length - open < 6)
        {
            return null;
        }

        var body = text.AsSpan(open + 1);
        var delimiter = body[0];
        if (delimiter is < '!' or > '~' || char.IsAsciiDigit(delimiter) || body[1] != delimiter || body[2] != delimiter)
        {
            return null;
        }

        var digits = body[3..];
        var length = 0;
        while (length < digits.Length && char.IsAsciiDigit(digits[length]))
        {
            length++;
        }

        if (length is 0 or > 5 || digits.Length < length + 2 || digits[length] != delimiter || digits[length + 1] != ')')
        {
            return null;
        }

        var port = int.Parse(digits[..length], NumberStyles.None, CultureInfo.InvariantCulture);
        return port is > 0 and <= 65535 ? port : null;
    }

    /// <summary>The address and port of a 227 reply's text, or null when no six numbers of 0 to 255 are found.</summary>
    public static (IPAddress Host, int Port)? ParsePasv(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var start = 0; start < text.Length; start++)
        {
            if (!char.IsAsciiDigit(text[start]) || (start > 0 && char.IsAsciiDigit(text[start - 1])))
            {
                continue;
            }

            if (TrySixNumbers(text.AsSpan(start), out var numbers))
            {
                var port = (numbers[4] * 256) + numbers[5];
                if (port == 0)
                {
                    return null;
                }

                return (new IPAddress([(byte)numbers[0], (byte)numbers[1], (byte)numbers[2], (byte)numbers[3]]), port);
            }
        }

        return null;
    }

    private static bool TrySixNumbers(ReadOnlySpan<char> text, out int[] numbers)
    {
        numbers = new int[6];
        var position = 0;
        for (var i = 0; i < 6; i++)
        {
            if (i > 0)
            {
                if (position >= text.Length || text[position] != ',')
                {
                    return false;
                }

                position++;
            }

            var length = 0;
            while (position + length < text.Length && char.IsAsciiDigit(text[position + length]))
            {
                length++;
            }

            if (length is 0 or > 3)
            {
                return false;
            }

            numbers[i] = int.Parse(text.Slice(position, length), NumberStyles.None, CultureInfo.InvariantCulture);
            if (numbers[i] > 255)
            {
                return false;
            }

            position += length;
        }

        return true;
    }
}
