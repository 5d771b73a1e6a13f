namespace DiskImage.Operations.Dd;

/// <summary>
/// <c>qemu-img dd</c>: copy part of an image into a new image. As qemu-img, <see cref="Count"/> blocks
/// are counted from the start of the input, not from <see cref="Skip"/>, so the copy is
/// <c>[skip × bs, min(size, count × bs))</c>.
/// </summary>
public sealed record DdOptions
{
    /// <summary>Largest block size qemu-img takes.</summary>
    public const long MaxBlockSize = int.MaxValue;

    /// <summary>The image read (<c>if=</c>).</summary>
    public required string InputPath { get; init; }

    /// <summary>The image created (<c>of=</c>); it must not exist as one of the input's files.</summary>
    public required string OutputPath { get; init; }

    /// <summary><c>-f</c>: input format; probed when null.</summary>
    public string? InputFormat { get; init; }

    /// <summary><c>-O</c>: format of the image created at <see cref="OutputPath"/>.</summary>
    public string OutputFormat { get; init; } = "raw";

    /// <summary><c>bs=</c>: block size in bytes, 1 to <see cref="MaxBlockSize"/>.</summary>
    public long BlockSize { get; init; } = 512;

    /// <summary><c>count=</c>: blocks from the start of the input that bound the copy; null for all.</summary>
    public long? Count { get; init; }

    /// <summary><c>skip=</c>: blocks of the input to skip before copying; null for none.</summary>
    public long? Skip { get; init; }

    /// <summary>Supplies secrets by id, for encrypted images.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c>: the secret that unlocks an encrypted input (and its backing files).</summary>
    public string? InputKeySecret { get; init; }

    /// <summary><c>-U</c>: open the input sharing every permission, so it can be read while another process writes it.</summary>
    public bool ForceShare { get; init; }
}
