using DiskImage.Formats;

namespace DiskImage.Operations.Resize;

/// <summary>What <c>qemu-img resize</c> is asked to do.</summary>
public sealed record ResizeOptions
{
    /// <summary>The image to resize in place.</summary>
    public required string Path { get; init; }

    /// <summary>Image format; probed when null.</summary>
    public string? Format { get; init; }

    /// <summary>The size as given: <c>SIZE</c>, <c>+SIZE</c> (grow by) or <c>-SIZE</c> (shrink by).</summary>
    public required string Size { get; init; }

    /// <summary>Allows the image to get smaller (qemu-img's <c>--shrink</c>).</summary>
    public bool Shrink { get; init; }

    /// <summary>How the grown part is allocated.</summary>
    public Preallocation Preallocation { get; init; } = Preallocation.Off;

    /// <summary>Supplies secrets by id, for encrypted images.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c>: the secret that unlocks an encrypted image (and its backing files).</summary>
    public string? KeySecret { get; init; }
}
