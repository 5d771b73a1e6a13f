namespace DiskImage.Operations.Bitmaps;

/// <summary>What <c>qemu-img bitmap</c> is asked to do: steps applied in order to one bitmap of one image.</summary>
public sealed record BitmapOptions
{
    /// <summary>The image whose bitmap changes (opened for writing, without its backing chain).</summary>
    public required string Path { get; init; }

    /// <summary>Image format; probed when null.</summary>
    public string? Format { get; init; }

    /// <summary>The bitmap every step applies to.</summary>
    public required string Bitmap { get; init; }

    /// <summary>The steps, applied in order; the first failure stops the rest (earlier steps stay applied).</summary>
    public required IReadOnlyList<BitmapStep> Steps { get; init; }

    /// <summary>Granularity for <see cref="BitmapAction.Add"/> in bytes; 0 for the default.</summary>
    public long Granularity { get; init; }

    /// <summary>The image merge sources are read from (opened read-only); null for the image itself.</summary>
    public string? SourcePath { get; init; }

    /// <summary>Format of <see cref="SourcePath"/>; probed when null.</summary>
    public string? SourceFormat { get; init; }

    /// <summary>Supplies secrets by id, for encrypted images.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c>: the secret that unlocks the image.</summary>
    public string? KeySecret { get; init; }
}
