namespace DiskImage.Operations.Bitmaps;

/// <summary>One operation of <c>qemu-img bitmap</c>.</summary>
public enum BitmapAction
{
    /// <summary><c>--add</c>: a new enabled persistent bitmap.</summary>
    Add,

    /// <summary><c>--remove</c>: delete the bitmap and free its clusters.</summary>
    Remove,

    /// <summary><c>--clear</c>: every granule clean.</summary>
    Clear,

    /// <summary><c>--enable</c>: track writes.</summary>
    Enable,

    /// <summary><c>--disable</c>: stop tracking writes.</summary>
    Disable,

    /// <summary><c>--merge SOURCE</c>: set the granules dirty in bitmap SOURCE.</summary>
    Merge,
}
