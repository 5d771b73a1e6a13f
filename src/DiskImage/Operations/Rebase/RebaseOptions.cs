namespace DiskImage.Operations.Rebase;

/// <summary>What <c>qemu-img rebase</c> is asked to do.</summary>
public sealed record RebaseOptions
{
    /// <summary>The image whose backing file changes.</summary>
    public required string Path { get; init; }

    /// <summary>Format of the image being rebased; probed when null.</summary>
    public string? Format { get; init; }

    /// <summary>New backing file name, stored as given (relative names are relative to the image); empty for none.</summary>
    public required string BackingFile { get; init; }

    /// <summary>Format of the new backing file; required unless <see cref="BackingFile"/> is empty.</summary>
    public string? BackingFormat { get; init; }

    /// <summary>Only rewrite the header (qemu-img's <c>-u</c>): the guest content may change.</summary>
    public bool Unsafe { get; init; }

    /// <summary>Supplies secrets by id, for encrypted images.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c>: the secret that unlocks the encrypted image (and its backing files).</summary>
    public string? KeySecret { get; init; }

    /// <summary><c>encrypt.key-secret</c> of the new backing file; <see cref="KeySecret"/> when null.</summary>
    public string? BackingKeySecret { get; init; }

    /// <summary><c>-U</c>: open the new backing file sharing every permission (the image itself is always opened for writing).</summary>
    public bool ForceShare { get; init; }
    /// <summary>Cache mode <c>none</c> or <c>directsync</c> (<c>-t</c>): the image's nodes, its old backing chain included, get <c>cache.direct=on</c>.</summary>
    public bool DirectIo { get; init; }
    /// <summary>Source cache mode <c>none</c> or <c>directsync</c> (<c>-T</c>): the new backing file's nodes get <c>cache.direct=on</c>.</summary>
    public bool BackingDirectIo { get; init; }
}
