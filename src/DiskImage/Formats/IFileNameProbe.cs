namespace DiskImage.Formats;

/// <summary>A format that probing also recognises by the file's name (QEMU's dmg probe looks at nothing else).</summary>
public interface IFileNameProbe
{
    /// <summary>How sure the format is, from the name alone, that the file is its own: 0 to 100, as <see cref="IImageFormat.Probe"/>.</summary>
    int ProbeFileName(string fileName);
}
