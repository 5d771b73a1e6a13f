namespace DiskImage.Formats.Qcow2;

public sealed partial class Qcow2Image
{
    /// <summary>
    /// True when the image holds persistent dirty bitmaps that are valid for it (the bitmaps extension is present and
    /// its autoclear bit is still set, so no bitmap-unaware writer has changed the image since).
    /// </summary>
    public bool HasPersistentBitmaps =>
        (_header.AutoclearFeatures & Qcow2Constants.AutoclearBitmaps) != 0 && _header.FindExtension(Qcow2Constants.ExtensionBitmaps) is not null;
}
