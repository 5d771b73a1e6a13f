namespace DiskImage.Formats.Qcow2.Bitmaps;

/// <summary>One persistent dirty bitmap as <c>qemu-img info</c> lists it.</summary>
/// <param name="Name">The bitmap's name.</param>
/// <param name="Granularity">Bytes of guest data one bit stands for.</param>
/// <param name="Flags"><c>in-use</c> (not stored cleanly: inconsistent) and <c>auto</c> (enabled), in that order.</param>
public sealed record Qcow2BitmapInfo(string Name, long Granularity, IReadOnlyList<string> Flags);
