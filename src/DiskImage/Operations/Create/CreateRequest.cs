using DiskImage.Formats;

namespace DiskImage.Operations.Create;

/// <summary>What <c>qemu-img create [-f fmt] [-o opts] [-b backing -F fmt] [-u] FILE [SIZE]</c> asks for.</summary>
public sealed record CreateRequest
{
    /// <summary>The new image's path.</summary>
    public required string Path { get; init; }

    /// <summary><c>-f</c>: format name.</summary>
    public string Format { get; init; } = "raw";

    /// <summary>Virtual size; may be omitted when a backing file gives it.</summary>
    public long? Size { get; init; }

    /// <summary><c>-o</c>: format options.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();

    /// <summary><c>-b</c>: backing file, stored as given (relative paths are relative to the new image).</summary>
    public string? BackingFile { get; init; }

    /// <summary><c>-F</c>: backing file format.</summary>
    public string? BackingFormat { get; init; }

    /// <summary><c>-u</c>: do not open the backing file.</summary>
    public bool SkipBackingCheck { get; init; }

    /// <summary>Where formats are looked up; null means <see cref="ImageFormatRegistry.Default"/>.</summary>
    public ImageFormatRegistry? Registry { get; init; }

    /// <summary>Supplies secrets by id (<c>encrypt.key-secret</c>).</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }
}
