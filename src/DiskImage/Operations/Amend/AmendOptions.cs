namespace DiskImage.Operations.Amend;

/// <summary>A <c>qemu-img amend</c> run: change options of an existing image in place.</summary>
public sealed record AmendOptions
{
    /// <summary>The image to amend in place.</summary>
    public required string Path { get; init; }

    /// <summary>Image format; probed when null.</summary>
    public string? Format { get; init; }

    /// <summary>The <c>-o</c> keys and values.</summary>
    public required IReadOnlyDictionary<string, string> Options { get; init; }

    /// <summary><c>--force</c>: allow changes QEMU calls dangerous (erasing the last key slot).</summary>
    public bool Force { get; init; }

    /// <summary>Supplies secrets by id (key, old and new secrets).</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c> the image is opened with.</summary>
    public string? KeySecret { get; init; }

    /// <summary>
    /// Receives, line by line, the report of the repair a dirty image (lazy refcounts) gets as it is opened for the
    /// amendment, as qemu-img prints it on stderr; null discards it.
    /// </summary>
    public Action<string>? RepairReport { get; init; }

    /// <summary>Cache mode <c>none</c> or <c>directsync</c> (<c>-t</c>): the image's nodes get <c>cache.direct=on</c>.</summary>
    public bool DirectIo { get; init; }
}
