namespace DiskImage.Operations.Compare;

/// <summary>What <c>qemu-img compare</c> is asked: whether two images show the guest the same content.</summary>
public sealed record ImageCompareOptions
{
    /// <summary>The first image.</summary>
    public required string FirstPath { get; init; }

    /// <summary>The second image.</summary>
    public required string SecondPath { get; init; }

    /// <summary><c>-f</c>: format of the first image; probed when null.</summary>
    public string? FirstFormat { get; init; }

    /// <summary><c>-F</c>: format of the second image; probed when null.</summary>
    public string? SecondFormat { get; init; }

    /// <summary><c>-s</c>: differing sizes or differing allocation also count as a difference.</summary>
    public bool Strict { get; init; }

    /// <summary>Supplies secrets by id, for encrypted images.</summary>
    public Func<string?, byte[]?>? SecretProvider { get; init; }

    /// <summary><c>encrypt.key-secret</c> of the first image.</summary>
    public string? FirstKeySecret { get; init; }

    /// <summary><c>encrypt.key-secret</c> of the second image.</summary>
    public string? SecondKeySecret { get; init; }

    /// <summary><c>-U</c>: open both images sharing every permission, so they can be compared while another process writes them.</summary>
    public bool ForceShare { get; init; }
    /// <summary>Cache mode <c>none</c> or <c>directsync</c> (<c>-T</c>): both images' nodes get <c>cache.direct=on</c>.</summary>
    public bool DirectIo { get; init; }
}
