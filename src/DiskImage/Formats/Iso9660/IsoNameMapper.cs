using System.Text;

namespace DiskImage.Formats.Iso9660;

/// <summary>
/// Turns host names into unique ISO 9660 identifiers (d-characters, 30 characters as levels 2-3
/// allow, ";1" on files) and Joliet names (UCS-2, 64 characters as genisoimage without
/// <c>-joliet-long</c>), and sorts them as ECMA-119 9.3 requires.
/// </summary>
internal static class IsoNameMapper
{
    public const int MaxIsoLength = 30;
    public const int MaxIsoDirectoryLength = 31;
    public const int MaxExtension = 8;
    public const int MaxJolietLength = 64;

    /// <summary>An ISO 9660 name split as ECMA-119 sorts it: name part, extension part.</summary>
    public readonly record struct IsoName(string Base, string Extension, bool IsDirectory)
    {
        public string Identifier => IsDirectory ? Base : $"{Base}.{Extension};1";

        public byte[] Bytes => Encoding.ASCII.GetBytes(Identifier);
    }

    public static readonly Comparer<IsoName> IsoOrder = Comparer<IsoName>.Create((a, b) =>
    {
        var byBase = string.CompareOrdinal(a.Base, b.Base);
        return byBase != 0 ? byBase : string.CompareOrdinal(a.Extension, b.Extension);
    });

    /// <summary>Assigns ISO names to the children of one directory and returns them in ISO order.</summary>
    public static List<IsoBuildNode> AssignIsoNames(IEnumerable<IsoBuildNode> children)
    {
        var used = new HashSet<(string, string)>();
        var result = new List<IsoBuildNode>();
        foreach (var child in children)
        {
            var isDirectory = child.Kind == IsoNodeKind.Directory;
            var upper = child.Name.ToUpperInvariant();
            string baseName, extension = "";
            var dot = upper.LastIndexOf('.');
            if (!isDirectory && dot > 0)
            {
                baseName = Map(upper[..dot]);
                extension = Map(upper[(dot + 1)..]);
                extension = extension[..Math.Min(extension.Length, MaxExtension)];
            }
            else
            {
                baseName = Map(upper);
            }

            var maxBase = isDirectory ? MaxIsoDirectoryLength : MaxIsoLength - extension.Length;
            baseName = baseName.Length == 0 ? "_" : baseName[..Math.Min(baseName.Length, maxBase)];
            var candidate = baseName;
            for (var n = 1; !used.Add((candidate, extension)); n++)
            {
                var suffix = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                candidate = baseName[..Math.Min(baseName.Length, maxBase - suffix.Length)] + suffix;
            }

            child.IsoName = new IsoName(candidate, extension, isDirectory);
            result.Add(child);
        }

        result.Sort((a, b) => IsoOrder.Compare(a.IsoName, b.IsoName));
        return result;
    }

    /// <summary>
    /// Assigns Joliet names to the children of one directory and returns them in Joliet order. Long
    /// names are cut at 64 UTF-16 units as genisoimage cuts them; where two cut names collide (genisoimage
    /// gives up there) the later one ends in "~N" instead.
    /// </summary>
    public static List<IsoBuildNode> AssignJolietNames(IEnumerable<IsoBuildNode> children)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<IsoBuildNode>();
        foreach (var child in children)
        {
            var name = JolietSafe(child.Name);
            var candidate = Cut(name, MaxJolietLength);
            for (var n = 1; !used.Add(candidate); n++)
            {
                var suffix = "~" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                candidate = Cut(name, MaxJolietLength - suffix.Length) + suffix;
            }

            child.JolietName = candidate;
            result.Add(child);
        }

        result.Sort((a, b) => string.CompareOrdinal(a.JolietName, b.JolietName));
        return result;
    }

    /// <summary>The first <paramref name="length"/> UTF-16 units, never splitting a surrogate pair.</summary>
    private static string Cut(string name, int length)
    {
        if (name.Length <= length)
        {
            return name;
        }

        var cut = name[..length];
        return char.IsHighSurrogate(cut[^1]) ? cut[..^1] : cut;
    }

    private static string Map(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' ? c : '_');
        }

        return builder.ToString();
    }

    /// <summary>Joliet forbids * / : ; ? \ and cannot hold characters outside the BMP.</summary>
    private static string JolietSafe(string name)
    {
        var builder = new StringBuilder(name.Length);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsSurrogate(c))
            {
                if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
                {
                    i++;
                }

                builder.Append('_');
            }
            else
            {
                builder.Append(c is '*' or '/' or ':' or ';' or '?' or '\\' || c < ' ' ? '_' : c);
            }
        }

        return builder.ToString();
    }
}
