namespace DiskImage.Formats;

/// <summary>Options every format understands when creating an image. Formats derive their own.</summary>
public record ImageCreateOptions
{
    /// <summary>Virtual size in bytes. May be omitted with a backing file, which then gives the size.</summary>
    public long? Size { get; init; }

    /// <summary>Backing file path, stored as given; resolved relative to the new image.</summary>
    public string? BackingFile { get; init; }

    /// <summary>Backing file format; required whenever a backing file is named.</summary>
    public string? BackingFormat { get; init; }

    /// <summary><c>-u</c>: do not open the backing file (the size must then be given).</summary>
    public bool SkipBackingCheck { get; init; }

    /// <summary>Where the backing file's format is looked up; null means <see cref="ImageFormatRegistry.Default"/>.</summary>
    public ImageFormatRegistry? Registry { get; init; }

    /// <summary>Supplies secrets by id (for encryption keys); null when none are known.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }
}
