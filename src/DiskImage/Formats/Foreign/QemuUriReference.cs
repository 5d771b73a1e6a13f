using System.Text;

namespace DiskImage.Formats.Foreign;

/// <summary>
/// A file name split as QEMU's URI parser splits it (RFC 3986, as an absolute URI or else a relative reference), for
/// the protocols that read their location from one: which names it refuses, and the parts it hands on, with the
/// server and path percent-decoded and the query kept as written.
/// </summary>
internal sealed record QemuUriReference(string? Scheme, string? Server, int Port, string? Path, string? Query)
{
    /// <summary>The parts of <paramref name="text"/>, or null where QEMU's parser refuses it.</summary>
    public static QemuUriReference? Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new Reader(text).Absolute() ?? new Reader(text).Relative();
    }

    /// <summary>One pass over the text; each production advances <see cref="_at"/> or leaves it where it failed.</summary>
    private sealed class Reader(string text)
    {
        private int _at;
        private string? _server;
        private int _port;
        private string? _path;
        private string? _query;

        public QemuUriReference? Absolute()
        {
            if (!IsAlpha(_at))
            {
                return null;
            }

            var start = _at;
            while (IsAlpha(_at) || IsDigit(_at) || Peek(_at) is '+' or '-' or '.')
            {
                _at++;
            }

            var scheme = text[start.._at];
            if (Peek(_at) != ':')
            {
                return null;
            }

            _at++;
            return HierarchicalPart(relative: false) && Tail() ? new QemuUriReference(scheme, _server, _port, _path, _query) : null;
        }

        public QemuUriReference? Relative() =>
            HierarchicalPart(relative: true) && Tail() ? new QemuUriReference(null, _server, _port, _path, _query) : null;

        /// <summary>
        /// An authority and its path, an absolute path, or a rootless path; false where the authority or absolute path
        /// is malformed. The first segment of a relative reference's rootless path cannot hold a colon (it would read
        /// as a scheme).
        /// </summary>
        private bool HierarchicalPart(bool relative)
        {
            if (Peek(_at) == '/' && Peek(_at + 1) == '/')
            {
                _at += 2;
                if (!Authority())
                {
                    return false;
                }

                PathSegments(_at, firstMayBeEmpty: true);
            }
            else if (Peek(_at) == '/')
            {
                return PathAbsolute();
            }
            else if (IsPchar(_at))
            {
                if (relative)
                {
                    var start = _at;
                    Segment(':');
                    ContinueSegments(start);
                }
                else
                {
                    PathSegments(_at, firstMayBeEmpty: false);
                }
            }

            return true;
        }

        /// <summary>The optional query and fragment, then the end of the text.</summary>
        private bool Tail()
        {
            if (Peek(_at) == '?')
            {
                var start = ++_at;
                while (IsPchar(_at) || Peek(_at) is '/' or '?')
                {
                    Next();
                }

                _query = text[start.._at];
            }

            if (Peek(_at) == '#')
            {
                _at++;
                while (IsPchar(_at) || Peek(_at) is '/' or '?' or '[' or ']')
                {
                    Next();
                }
            }

            return _at == text.Length;
        }

        /// <summary><c>[userinfo "@"] host [":" port]</c>; the port is digits up to 65535.</summary>
        private bool Authority()
        {
            var start = _at;
            while (IsUnreserved(_at) || IsPctEncoded(_at) || IsSubDelim(_at) || Peek(_at) == ':')
            {
                Next();
            }

            _at = Peek(_at) == '@' ? _at + 1 : start;
            var host = _at;
            if (Peek(_at) == '[')
            {
                while (_at < text.Length && text[_at] != ']')
                {
                    _at++;
                }

                if (Peek(_at) != ']')
                {
                    return false;
                }

                _at++;
            }
            else if (!IPv4())
            {
                while (IsUnreserved(_at) || IsPctEncoded(_at) || IsSubDelim(_at))
                {
                    Next();
                }
            }

            _server = _at == host ? null : Unescape(host, _at);
            if (Peek(_at) != ':')
            {
                return true;
            }

            _at++;
            if (!IsDigit(_at))
            {
                return false;
            }

            var port = 0;
            while (IsDigit(_at))
            {
                port = (port * 10) + (text[_at] - '0');
                if (port > 65535)
                {
                    return false;
                }

                _at++;
            }

            _port = port;
            return true;
        }

        /// <summary>A dotted IPv4 address of four decimal octets, consumed only when whole.</summary>
        private bool IPv4()
        {
            var start = _at;
            for (var i = 0; i < 4; i++)
            {
                if ((i > 0 && Peek(_at++) != '.') || !DecOctet())
                {
                    _at = start;
                    return false;
                }
            }

            return true;
        }

        private bool DecOctet()
        {
            if (!IsDigit(_at))
            {
                return false;
            }

            char a = text[_at], b = Peek(_at + 1), c = Peek(_at + 2);
            var length = !IsDigit(_at + 1) ? 1
                : a != '0' && !IsDigit(_at + 2) ? 2
                : a == '1' && IsDigit(_at + 2) ? 3
                : a == '2' && b is >= '0' and <= '4' && IsDigit(_at + 2) ? 3
                : a == '2' && b == '5' && c >= '0' ? 3
                : 0;
            _at += length;
            return length > 0;
        }

        /// <summary>"/" then a non-empty segment, then more segments; or only the "/".</summary>
        private bool PathAbsolute()
        {
            var start = _at++;
            if (IsPchar(_at))
            {
                Segment('\0');
                ContinueSegments(start);
            }
            else
            {
                _path = Unescape(start, _at);
            }

            return true;
        }

        private void PathSegments(int start, bool firstMayBeEmpty)
        {
            if (!firstMayBeEmpty)
            {
                Segment('\0');
            }

            ContinueSegments(start);
        }

        private void ContinueSegments(int start)
        {
            while (Peek(_at) == '/')
            {
                _at++;
                Segment('\0');
            }

            _path = _at == start ? null : Unescape(start, _at);
        }

        private void Segment(char forbid)
        {
            while (IsPchar(_at) && Peek(_at) != forbid)
            {
                Next();
            }
        }

        private void Next() => _at += Peek(_at) == '%' ? 3 : 1;

        private char Peek(int i) => i < text.Length ? text[i] : '\0';

        private bool IsAlpha(int i) => char.IsAsciiLetter(Peek(i));

        private bool IsDigit(int i) => char.IsAsciiDigit(Peek(i));

        private bool IsUnreserved(int i) => char.IsAsciiLetterOrDigit(Peek(i)) || Peek(i) is '-' or '.' or '_' or '~';

        private bool IsSubDelim(int i) => Peek(i) is '!' or '$' or '&' or '(' or ')' or '*' or '+' or ',' or ';' or '=' or '\'';

        private bool IsPctEncoded(int i) => Peek(i) == '%' && char.IsAsciiHexDigit(Peek(i + 1)) && char.IsAsciiHexDigit(Peek(i + 2));

        private bool IsPchar(int i) => IsUnreserved(i) || IsPctEncoded(i) || IsSubDelim(i) || Peek(i) is ':' or '@';

        private string Unescape(int start, int end) => Decode(text.AsSpan(start, end - start));
    }

    /// <summary>Percent-decoding as QEMU does it: each valid <c>%XX</c> becomes that byte, anything else stays.</summary>
    public static string Decode(ReadOnlySpan<char> text)
    {
        var input = Encoding.UTF8.GetBytes(text.ToArray());
        var output = new byte[input.Length];
        var length = 0;
        for (var i = 0; i < input.Length; i++)
        {
            if (input[i] == '%' && i + 2 < input.Length && IsHex(input[i + 1]) && IsHex(input[i + 2]))
            {
                output[length++] = (byte)((HexValue(input[i + 1]) << 4) | HexValue(input[i + 2]));
                i += 2;
            }
            else
            {
                output[length++] = input[i];
            }
        }

        return Encoding.UTF8.GetString(output, 0, length);
    }

    private static bool IsHex(byte b) => char.IsAsciiHexDigit((char)b);

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
