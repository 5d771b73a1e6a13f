using System.Globalization;
using System.Text;

namespace DiskImage.Options;

/// <summary>
/// QEMU's <c>json:{...}</c> pseudo-protocol file names, parsed into the flat dotted option list that
/// <c>--image-opts</c> spells directly (<c>{"file":{"filename":"a"}}</c> becomes <c>file.filename=a</c>).
/// The grammar is QEMU's JSON dialect: strings may also be single-quoted. Input is bounded in length and
/// nesting so hostile names cannot exhaust the stack or memory.
/// </summary>
internal static class JsonFilename
{
    /// <summary>The prefix that marks a file name as JSON options.</summary>
    public const string Prefix = "json:";

    /// <summary>Longest accepted JSON text (a command line argument; QEMU's own limit is far larger but never needed).</summary>
    public const int MaxLength = 1 << 20;

    /// <summary>Deepest accepted nesting of objects and arrays.</summary>
    public const int MaxDepth = 32;

    /// <summary>Whether <paramref name="name"/> is a <c>json:</c> file name.</summary>
    public static bool IsJson(string? name) => name is not null && name.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>
    /// Parses the text after <c>json:</c> into dotted keys, in document order. Errors are QEMU's
    /// (<c>Could not parse the JSON options: ...</c>, <c>Invalid JSON object given</c>).
    /// </summary>
    public static List<KeyValuePair<string, JsonScalar>> Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var text = IsJson(name) ? name[Prefix.Length..] : name;
        if (text.Length > MaxLength)
        {
            throw new InvalidOptionException("Could not parse the JSON options: JSON parse error, token too large");
        }

        var parser = new Parser(text);
        object? value;
        try
        {
            parser.SkipSpace();
            if (parser.AtEnd)
            {
                throw new InvalidOptionException("Could not parse the JSON options: Expecting a JSON value");
            }

            value = parser.ParseValue(0);
            parser.SkipSpace();
            if (!parser.AtEnd)
            {
                throw new InvalidOptionException("Could not parse the JSON options: Expecting at most one JSON value");
            }
        }
        catch (JsonSyntaxException e)
        {
            throw new InvalidOptionException($"Could not parse the JSON options: JSON parse error, {e.Message}");
        }

        if (value is not List<KeyValuePair<string, object?>> root || value is JsonArray)
        {
            throw new InvalidOptionException("Invalid JSON object given");
        }

        var flat = new List<KeyValuePair<string, JsonScalar>>();
        Flatten(root, "", flat);
        return flat;
    }

    /// <summary>Nested objects and arrays become dotted keys (<c>a.b</c>, <c>a.0</c>), as QEMU flattens its option dictionaries.</summary>
    private static void Flatten(List<KeyValuePair<string, object?>> members, string prefix, List<KeyValuePair<string, JsonScalar>> into)
    {
        foreach (var (key, value) in members)
        {
            var name = prefix + key;
            switch (value)
            {
                case List<KeyValuePair<string, object?>> nested when nested.Count > 0:
                    Flatten(nested, name + ".", into);
                    break;
                case List<KeyValuePair<string, object?>>:
                    break;
                case JsonScalar scalar:
                    into.Add(new(name, scalar));
                    break;
                default:
                    into.Add(new(name, JsonScalar.Null));
                    break;
            }
        }
    }

    private sealed class JsonSyntaxException(string message) : Exception(message);

    /// <summary>An array's items keyed by index, so they flatten as QEMU's lists do; a distinct type so a top-level array is refused.</summary>
    private sealed class JsonArray : List<KeyValuePair<string, object?>>;

    /// <summary>A recursive-descent parser; depth is bounded by <see cref="MaxDepth"/>.</summary>
    private sealed class Parser(string text)
    {
        private int _position;

        public bool AtEnd => _position >= text.Length;

        public void SkipSpace()
        {
            while (!AtEnd && text[_position] is ' ' or '\t' or '\r' or '\n')
            {
                _position++;
            }
        }

        /// <summary>An object (list of members), an array (members keyed by index), or a <see cref="JsonScalar"/>.</summary>
        public object? ParseValue(int depth)
        {
            SkipSpace();
            if (AtEnd)
            {
                throw new JsonSyntaxException("premature EOI");
            }

            var c = text[_position];
            return c switch
            {
                '{' => ParseObject(depth + 1),
                '[' => ParseArray(depth + 1),
                '"' or '\'' => JsonScalar.String(ParseString()),
                '-' or (>= '0' and <= '9') => ParseNumber(),
                _ when char.IsAsciiLetter(c) => ParseKeyword(),
                _ => throw new JsonSyntaxException("expecting value"),
            };
        }

        private List<KeyValuePair<string, object?>> ParseObject(int depth)
        {
            CheckDepth(depth);
            _position++;
            var members = new List<KeyValuePair<string, object?>>();
            SkipSpace();
            if (Peek() == '}')
            {
                _position++;
                return members;
            }

            while (true)
            {
                // QEMU reads a key as any value first: that value's own error (an invalid keyword, a missing value)
                // comes before the complaint that it is no string.
                if (ParseValue(depth) is not JsonScalar { Kind: JsonScalarKind.String, Text: var key })
                {
                    throw new JsonSyntaxException("key is not a string in object");
                }

                SkipSpace();
                if (Peek() != ':')
                {
                    throw new JsonSyntaxException("missing : in object pair");
                }

                _position++;
                var value = ParseValue(depth);
                if (members.Exists(m => m.Key == key))
                {
                    throw new JsonSyntaxException("duplicate key");
                }

                members.Add(new(key, value));
                SkipSpace();
                switch (Peek())
                {
                    case ',':
                        _position++;
                        SkipSpace();
                        if (Peek() == '}')
                        {
                            throw new JsonSyntaxException("expecting value");
                        }

                        continue;
                    case '}':
                        _position++;
                        return members;
                    default:
                        throw new JsonSyntaxException("expected separator in dict");
                }
            }
        }

        private JsonArray ParseArray(int depth)
        {
            CheckDepth(depth);
            _position++;
            var items = new JsonArray();
            SkipSpace();
            if (Peek() == ']')
            {
                _position++;
                return items;
            }

            while (true)
            {
                items.Add(new(items.Count.ToString(CultureInfo.InvariantCulture), ParseValue(depth)));
                SkipSpace();
                switch (Peek())
                {
                    case ',':
                        _position++;
                        continue;
                    case ']':
                        _position++;
                        return items;
                    default:
                        throw new JsonSyntaxException("expected separator in list");
                }
            }
        }

        private static void CheckDepth(int depth)
        {
            if (depth > MaxDepth)
            {
                throw new JsonSyntaxException("too deeply nested");
            }
        }

        /// <summary>The next character; throws "premature EOI" at the end.</summary>
        private char Peek() => AtEnd ? throw new JsonSyntaxException("premature EOI") : text[_position];

        private string ParseString()
        {
            var quote = text[_position++];
            var result = new StringBuilder();
            while (true)
            {
                var c = Peek();
                _position++;
                if (c == quote)
                {
                    return result.ToString();
                }

                if (c < ' ')
                {
                    throw new JsonSyntaxException("invalid character in string");
                }

                if (c != '\\')
                {
                    result.Append(c);
                    continue;
                }

                var escape = Peek();
                _position++;
                switch (escape)
                {
                    case '"' or '\'' or '\\' or '/':
                        result.Append(escape);
                        break;
                    case 'b': result.Append('\b'); break;
                    case 'f': result.Append('\f'); break;
                    case 'n': result.Append('\n'); break;
                    case 'r': result.Append('\r'); break;
                    case 't': result.Append('\t'); break;
                    case 'u':
                        if (_position + 4 > text.Length || !ushort.TryParse(text.AsSpan(_position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                        {
                            throw new JsonSyntaxException("invalid escape sequence in string");
                        }

                        _position += 4;
                        result.Append((char)code);
                        break;
                    default:
                        throw new JsonSyntaxException("invalid escape sequence in string");
                }
            }
        }

        private JsonScalar ParseNumber()
        {
            var start = _position;
            if (text[_position] == '-')
            {
                _position++;
            }

            var isInteger = true;
            while (!AtEnd && (char.IsAsciiDigit(text[_position]) || text[_position] is '.' or 'e' or 'E' or '+' or '-'))
            {
                isInteger &= char.IsAsciiDigit(text[_position]);
                _position++;
            }

            var literal = text[start.._position];
            if (literal is "-" || !double.TryParse(literal, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                throw new JsonSyntaxException($"invalid number '{literal}'");
            }

            return JsonScalar.Number(literal, isInteger);
        }

        private JsonScalar ParseKeyword()
        {
            var start = _position;
            while (!AtEnd && char.IsAsciiLetterOrDigit(text[_position]))
            {
                _position++;
            }

            var word = text[start.._position];
            return word switch
            {
                "true" => JsonScalar.Bool(true),
                "false" => JsonScalar.Bool(false),
                "null" => JsonScalar.Null,
                _ => throw new JsonSyntaxException($"invalid keyword '{word}'"),
            };
        }
    }
}

/// <summary>The kind of a JSON leaf value.</summary>
internal enum JsonScalarKind
{
    String,
    Integer,
    Float,
    Bool,
    Null,
}

/// <summary>A leaf of a <c>json:</c> file name: its kind and its text (booleans as QEMU's <c>on</c>/<c>off</c>).</summary>
internal readonly record struct JsonScalar(JsonScalarKind Kind, string Text)
{
    public static JsonScalar Null => new(JsonScalarKind.Null, "");

    public static JsonScalar String(string text) => new(JsonScalarKind.String, text);

    public static JsonScalar Bool(bool value) => new(JsonScalarKind.Bool, value ? "on" : "off");

    public static JsonScalar Number(string literal, bool isInteger) => new(isInteger ? JsonScalarKind.Integer : JsonScalarKind.Float, literal);
}
