namespace DiskImage.Formats.Vpc;

/// <summary>Options for creating a VHD (<c>qemu-img create -f vpc</c>).</summary>
public sealed record VpcCreateOptions : ImageCreateOptions
{
    /// <summary><c>subformat=fixed</c>: the data area is the whole disk; otherwise dynamic (sparse).</summary>
    public bool Fixed { get; init; }

    /// <summary><c>force_size=on</c>: keep the size exactly (Azure) instead of rounding it to a CHS geometry.</summary>
    public bool ForceSize { get; init; }
}
