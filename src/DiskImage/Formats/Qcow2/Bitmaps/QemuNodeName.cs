namespace DiskImage.Formats.Qcow2.Bitmaps;

/// <summary>
/// The automatic node name QEMU's tools give the image they open (<c>#block</c>, a counter, two random digits),
/// which some of its bitmap messages name; a tool's first node has counter 1.
/// </summary>
internal static class QemuNodeName
{
    public static string Next() => Numbered(1);

    /// <summary>The name of the node QEMU named <paramref name="counter"/>-th (from 0; a format node comes after its file node).</summary>
    public static string Numbered(int counter) => $"#block{counter}{Random.Shared.Next(100):D2}";
}
