using System.Globalization;
using System.Security;
using DiskImage.Operations.Map;

namespace DiskImage.Cli.Rendering;

/// <summary>
/// <c>map --output=svg|html</c>: the guest address space as a grid of buckets (a strip for small images),
/// each cell coloured by the category holding most of its bytes, and a legend with the totals. The size of
/// the output depends on the bucket count only, never on the number of extents.
/// </summary>
internal static class AllocationMapPicture
{
    private const int Columns = 128;
    private const int Cell = 8;
    private const int Margin = 10;
    private const int LegendLine = 18;

    private static readonly (AllocationCategory Category, string Id, string Label, string Colour)[] s_styles =
    [
        (AllocationCategory.Data, "data", "data", "#d62728"),
        (AllocationCategory.Compressed, "compressed", "compressed data", "#9467bd"),
        (AllocationCategory.Zero, "zero", "zero", "#7fb3d5"),
        (AllocationCategory.Backing, "backing", "data from backing files", "#ff9f1c"),
        (AllocationCategory.Unallocated, "unallocated", "unallocated", "#eeeeee"),
    ];

    /// <summary>Data of an encrypted image gets its own colour, so an encrypted disk is told apart at a glance.</summary>
    private const string EncryptedDataColour = "#2ca02c";

    public static void WriteSvg(TextWriter output, AllocationMap map, string fileName, bool standalone = true)
    {
        var rows = (map.BucketCount + Columns - 1) / Columns;
        var columns = Math.Min(Columns, map.BucketCount);
        var gridHeight = rows * Cell;
        var hostTop = Margin + 24 + gridHeight + 12;
        var hostHeight = map.HostFile is { } hostFile ? HostFileStrip.Height(hostFile) + 12 : 0;
        var legendTop = hostTop + hostHeight + 16;
        var legendLines = s_styles.Length + 3 + map.LayerBytes.Count + (map.HostFile is null ? 0 : HostFileStrip.LegendLines);
        var width = Math.Max(640, (2 * Margin) + Math.Max(columns * Cell, map.HostFile is { } h ? HostFileStrip.Width(h) : 0));
        var height = legendTop + (legendLines * LegendLine) + Margin;
        if (standalone)
        {
            output.WriteLine("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        }

        output.WriteLine(F($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        output.WriteLine(F($"<title>Allocation map of {Escape(fileName)}</title>"));
        output.WriteLine("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>");
        output.WriteLine(F($"<text x=\"{Margin}\" y=\"{Margin + 12}\" font-weight=\"bold\">{Escape(fileName)}: {Size(map.VirtualSize)}, one cell = {Size(map.BucketSize)} of guest space ({map.BucketCount} cells), coloured by what fills most of it</text>"));
        output.WriteLine(F($"<g id=\"grid\" transform=\"translate({Margin},{Margin + 24})\">"));
        for (var bucket = 0; bucket < map.BucketCount;)
        {
            // Neighbouring cells of one row filled by a single category become one rectangle: the file stays
            // small for typical images, and never grows past one rectangle per cell.
            var category = map.Dominant(bucket);
            var last = bucket;
            while (Pure(map, last, category) && last + 1 < map.BucketCount && (last + 1) % Columns != 0 && Pure(map, last + 1, category))
            {
                last++;
            }

            var colour = Colour(map, category);
            var x = bucket % Columns * Cell;
            var y = bucket / Columns * Cell;
            var start = map.BucketStart(bucket);
            var length = map.BucketStart(last) + map.BucketLength(last) - start;
            output.Write(F($"<rect x=\"{x}\" y=\"{y}\" width=\"{(last - bucket + 1) * Cell}\" height=\"{Cell}\" fill=\"{colour}\"><title>{Size(start)}+{Size(length)}"));
            foreach (var s in s_styles)
            {
                long bytes = 0;
                for (var b = bucket; b <= last; b++)
                {
                    bytes += map.BucketBytes(b, s.Category);
                }

                if (bytes > 0)
                {
                    output.Write(F($"; {s.Label} {bytes}"));
                }
            }

            output.WriteLine("</title></rect>");
            bucket = last + 1;
        }

        output.WriteLine("</g>");
        if (map.HostFile is { } host)
        {
            HostFileStrip.WriteStrip(output, host, hostTop, Margin);
        }

        output.WriteLine(F($"<g id=\"legend\" transform=\"translate({Margin},{legendTop})\">"));
        var line = 0;
        foreach (var s in s_styles)
        {
            var total = map.Total(s.Category);
            var label = s.Category == AllocationCategory.Data && map.Encrypted ? "data (encrypted)" : s.Label;
            output.WriteLine(F($"<rect x=\"0\" y=\"{(line * LegendLine) - 10}\" width=\"12\" height=\"12\" fill=\"{Colour(map, s.Category)}\" stroke=\"#888888\"/>"));
            output.WriteLine(F($"<text id=\"total-{s.Id}\" data-bytes=\"{total}\" x=\"18\" y=\"{line * LegendLine}\">{label}: {total} bytes ({Size(total)})</text>"));
            line++;
        }

        output.WriteLine(F($"<text id=\"total-virtual\" data-bytes=\"{map.VirtualSize}\" x=\"0\" y=\"{line++ * LegendLine}\">virtual size: {map.VirtualSize} bytes ({Size(map.VirtualSize)})</text>"));
        output.WriteLine(F($"<text id=\"total-allocated\" data-bytes=\"{map.Allocated}\" x=\"0\" y=\"{line++ * LegendLine}\">allocated in this image: {map.Allocated} bytes ({Size(map.Allocated)})</text>"));
        output.WriteLine(F($"<text id=\"thin-ratio\" x=\"0\" y=\"{line++ * LegendLine}\">thin-provisioning ratio (allocated / virtual): {map.ThinProvisioningRatio:0.0000}</text>"));
        for (var depth = 0; depth < map.LayerBytes.Count; depth++)
        {
            var name = depth == 0 ? "this image" : F($"backing layer {depth}");
            output.WriteLine(F($"<text id=\"layer-{depth}\" data-bytes=\"{map.LayerBytes[depth]}\" x=\"0\" y=\"{line++ * LegendLine}\">allocated in {name} (depth {depth}): {map.LayerBytes[depth]} bytes</text>"));
        }

        if (map.HostFile is { } hostLegend)
        {
            HostFileStrip.WriteLegend(output, hostLegend, line, LegendLine);
        }

        output.WriteLine("</g>");
        output.WriteLine("</svg>");
    }

    /// <summary>A self-contained page: the SVG inline, and a line that shows the hovered cell's details.</summary>
    public static void WriteHtml(TextWriter output, AllocationMap map, string fileName)
    {
        output.WriteLine("<!DOCTYPE html>");
        output.WriteLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        output.WriteLine(F($"<title>Allocation map of {Escape(fileName)}</title>"));
        output.WriteLine("<style>body{font-family:sans-serif;margin:12px}#details{height:1.4em;font-family:monospace}</style>");
        output.WriteLine("</head><body>");
        output.WriteLine("<div id=\"details\">Hover a cell for its guest range and bytes per category.</div>");
        WriteSvg(output, map, fileName, standalone: false);
        output.WriteLine("<script>");
        output.WriteLine("const details = document.getElementById('details');");
        output.WriteLine("for (const grid of document.querySelectorAll('#grid, #host-grid')) {");
        output.WriteLine("  grid.addEventListener('mouseover', e => {");
        output.WriteLine("    const title = e.target.querySelector && e.target.querySelector('title');");
        output.WriteLine("    if (title) { details.textContent = title.textContent; }");
        output.WriteLine("  });");
        output.WriteLine("}");
        output.WriteLine("</script>");
        output.WriteLine("</body></html>");
    }

    private static bool Pure(AllocationMap map, int bucket, AllocationCategory category) =>
        map.BucketBytes(bucket, category) == map.BucketLength(bucket);

    private static string Colour(AllocationMap map, AllocationCategory category) =>
        category == AllocationCategory.Data && map.Encrypted ? EncryptedDataColour : Array.Find(s_styles, s => s.Category == category).Colour;

    internal static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return F($"{value:0.##} {units[unit]}");
    }

    private static string Escape(string text) => SecurityElement.Escape(text);

    internal static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
