using DiskImage.Formats;

namespace DiskImage.Crypto;

/// <summary>Finds the passphrase for an encrypted image among the secrets the caller supplied, with QEMU's messages.</summary>
internal static class EncryptionSecrets
{
    public const string MissingKeySecretMessage = "Parameter 'encrypt.key-secret' is required for cipher";

    /// <summary>
    /// The passphrase named by <see cref="ImageOpenOptions.KeySecret"/>, or what the provider gives for
    /// a null id when no key secret is named; null when there is none (the image is then metadata-only).
    /// A named secret that does not exist is an error.
    /// </summary>
    public static byte[]? Find(ImageOpenOptions options) => Find(options.SecretProvider, options.KeySecret);

    /// <summary>As <see cref="Find(ImageOpenOptions)"/>, for any secret id (create and amend name theirs).</summary>
    public static byte[]? Find(Func<string?, byte[]?>? provider, string? id)
    {
        if (id is null)
        {
            return provider?.Invoke(null);
        }

        var data = provider?.Invoke(id) ?? throw new InvalidOptionException($"No secret with id '{id}'");

        // QEMU reads passphrases as UTF-8 text and refuses other bytes.
        return System.Text.Unicode.Utf8.IsValid(data) ? data : throw new InvalidOptionException($"Data from secret {id} is not valid UTF-8");
    }

    /// <summary>Like <see cref="Find(Func{string, byte[]}, string)"/> but a missing id is refused with QEMU's message.</summary>
    public static byte[] Require(Func<string?, byte[]?>? provider, string? id, string parameter = "encrypt.key-secret") =>
        Find(provider, id) ?? throw new InvalidOptionException($"Parameter '{parameter}' is required for cipher");
}
