namespace DiskImage.Operations.Map;

/// <summary>Which part of the image <see cref="ImageMapper"/> describes.</summary>
public sealed record MapOptions
{
    /// <summary>First guest offset (<c>--start-offset</c>).</summary>
    public long StartOffset { get; init; }

    /// <summary>At most this many bytes from <see cref="StartOffset"/> (<c>--max-length</c>); null for all.</summary>
    public long? MaxLength { get; init; }
}
