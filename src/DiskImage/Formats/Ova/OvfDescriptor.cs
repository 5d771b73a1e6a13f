using System.Globalization;
using System.Xml;

namespace DiskImage.Formats.Ova;

/// <summary>
/// Reads the disks of an OVF descriptor: <c>References/File</c> (id to href) and <c>DiskSection/Disk</c>
/// (fileRef, capacity, format). DTDs and external entities are refused.
/// </summary>
internal static class OvfDescriptor
{
    public static List<OvfDisk> ReadDisks(Stream xml)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        var disks = new List<(string Id, string FileRef, string Format, string Capacity, string? Units)>();
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true };
        try
        {
            using var reader = XmlReader.Create(xml, settings);
            while (reader.Read())
            {
                if (reader.NodeType != XmlNodeType.Element)
                {
                    continue;
                }

                if (reader.LocalName == "File" && Attribute(reader, "id") is { } id && Attribute(reader, "href") is { } href)
                {
                    files.TryAdd(id, href);
                }
                else if (reader.LocalName == "Disk" && Attribute(reader, "diskId") is { } diskId)
                {
                    disks.Add((diskId, Attribute(reader, "fileRef") ?? "", Attribute(reader, "format") ?? "",
                        Attribute(reader, "capacity") ?? "0", Attribute(reader, "capacityAllocationUnits")));
                }
            }
        }
        catch (XmlException e)
        {
            throw new InvalidImageException($"Invalid OVF descriptor: {e.Message}");
        }

        return [.. disks.Select(d => new OvfDisk(d.Id, files.GetValueOrDefault(d.FileRef, ""), d.Format, Capacity(d.Capacity, d.Units)))];
    }

    private static string? Attribute(XmlReader reader, string localName)
    {
        for (var i = 0; i < reader.AttributeCount; i++)
        {
            reader.MoveToAttribute(i);
            if (reader.LocalName == localName)
            {
                var value = reader.Value;
                reader.MoveToElement();
                return value;
            }
        }

        reader.MoveToElement();
        return null;
    }

    /// <summary>Capacity in bytes; units are "byte" optionally times a power (<c>byte * 2^30</c>).</summary>
    private static long Capacity(string capacity, string? units)
    {
        if (!long.TryParse(capacity, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw new InvalidImageException($"Invalid OVF disk capacity '{capacity}'");
        }

        var shift = 0;
        if (units is not null)
        {
            var power = units.IndexOf("2^", StringComparison.Ordinal);
            if (power >= 0 && !int.TryParse(units.AsSpan(power + 2).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out shift))
            {
                throw new InvalidImageException($"Invalid OVF capacity units '{units}'");
            }
        }

        if (shift is < 0 or > 62 || value > long.MaxValue >> shift)
        {
            throw new InvalidImageException($"Invalid OVF disk capacity '{capacity}' '{units}'");
        }

        return value << shift;
    }
}
