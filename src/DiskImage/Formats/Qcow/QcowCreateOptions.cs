namespace DiskImage.Formats.Qcow;

/// <summary>Options for creating a qcow image (<c>qemu-img create -f qcow</c>).</summary>
public sealed record QcowCreateOptions : ImageCreateOptions
{
    /// <summary>
    /// <c>encrypt.key-secret</c> with <c>encrypt.format=aes</c> (or the deprecated <c>encryption=on</c>): the id of the
    /// secret whose first 16 bytes are the AES key. Null for an unencrypted image.
    /// </summary>
    public string? LegacyAesKeySecret { get; init; }
}
