using DiskImage.Crypto;
using DiskImage.Options;

namespace DiskImage.Formats.Qcow2;

/// <summary>qcow2's <c>encrypt.*</c> and legacy <c>encryption</c> create options.</summary>
internal static class Qcow2EncryptionOptions
{
    /// <summary>
    /// LUKS settings when <c>encrypt.format=luks</c>; null when nothing asks for encryption. Legacy AES
    /// (<c>encrypt.format=aes</c>, <c>encryption=on</c>) is refused: it is insecure and only read.
    /// </summary>
    public static LuksCreateOptions? Parse(IReadOnlyDictionary<string, string> options)
    {
        var legacy = options.TryGetValue("encryption", out var on) && KeyValueOptions.ParseBool("encryption", on);
        options.TryGetValue("encrypt.format", out var format);
        if (legacy || format == "aes")
        {
            throw new UnsupportedFeatureException(LegacyAesEncryption.CreateRefusedMessage);
        }

        if (format is null)
        {
            var stray = options.Keys.FirstOrDefault(k => k.StartsWith("encrypt.", StringComparison.Ordinal));
            return stray is null ? null : throw new InvalidOptionException($"Parameter '{stray}' requires encrypt.format");
        }

        if (format != "luks")
        {
            throw new InvalidOptionException($"Parameter 'encrypt.format' does not accept value '{format}'");
        }

        return LuksCreateOptions.FromKeyValues(options);
    }
}
