namespace DiskImage.Formats.Raw;

/// <summary>Options for creating a raw image.</summary>
public sealed record RawCreateOptions : ImageCreateOptions
{
    /// <summary><c>off</c> (sparse), <c>falloc</c> (reserved) or <c>full</c> (zeroes written).</summary>
    public Preallocation Preallocation { get; init; } = Preallocation.Off;
}
