namespace DiskImage.Formats.Vmdk;

/// <summary>The layouts qemu-img writes (<c>-o subformat=</c>).</summary>
public enum VmdkSubformat
{
    MonolithicSparse,
    MonolithicFlat,
    TwoGbMaxExtentSparse,
    TwoGbMaxExtentFlat,
    StreamOptimized,
}
