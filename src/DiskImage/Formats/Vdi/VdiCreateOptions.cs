namespace DiskImage.Formats.Vdi;

/// <summary>Options for creating a VDI (<c>qemu-img create -f vdi</c>).</summary>
public sealed record VdiCreateOptions : ImageCreateOptions
{
    /// <summary><c>static=on</c>: every block allocated up front (the data area is a sparse file region).</summary>
    public bool Static { get; init; }
}
