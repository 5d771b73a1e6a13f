namespace DiskImage.Formats.Vmdk;

/// <summary>The layouts qemu-img writes (<c>-o subformat=</c>).</summary>
public enum VmdkSubformat
{
    /// <summary>One sparse extent file (the default).</summary>
    MonolithicSparse,
    /// <summary>A descriptor and one flat (fully allocated) extent file.</summary>
    MonolithicFlat,
    /// <summary>A descriptor and sparse extent files of at most 2 GiB each.</summary>
    TwoGbMaxExtentSparse,
    /// <summary>A descriptor and flat extent files of at most 2 GiB each.</summary>
    TwoGbMaxExtentFlat,
    /// <summary>One compressed, append-only extent, as vSphere imports it.</summary>
    StreamOptimized,
}
