namespace DiskImage.Operations.Measure;

/// <summary>
/// What <c>qemu-img measure</c> is asked: the size a new image of <see cref="OutputFormat"/> would need,
/// either for an empty image of <see cref="Size"/> bytes or for a copy of <see cref="SourcePath"/>.
/// Exactly one of the two must be given.
/// </summary>
public sealed record MeasureOptions
{
    /// <summary>Format of the image to be created (<c>-O</c>); raw when not given, as qemu-img.</summary>
    public string OutputFormat { get; init; } = "raw";

    /// <summary>The target's creation options (<c>-o key=value</c>), as they would be given to create.</summary>
    public IReadOnlyDictionary<string, string> CreateOptions { get; init; } = new Dictionary<string, string>();

    /// <summary>Virtual size of an empty image to measure (<c>--size</c>).</summary>
    public long? Size { get; init; }

    /// <summary>Image whose content would be copied into the new image.</summary>
    public string? SourcePath { get; init; }

    /// <summary>Format of <see cref="SourcePath"/>; probed when null.</summary>
    public string? SourceFormat { get; init; }

    /// <summary>Internal snapshot of the source to measure instead of its active state (<c>-l</c>).</summary>
    public string? SnapshotName { get; init; }

    /// <summary>Supplies secrets by id: the source's key secret and the target's <c>encrypt.key-secret</c>.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c>: the secret that unlocks an encrypted source.</summary>
    public string? SourceKeySecret { get; init; }

    /// <summary><c>-U</c>: open the source sharing every permission.</summary>
    public bool ForceShare { get; init; }
}
