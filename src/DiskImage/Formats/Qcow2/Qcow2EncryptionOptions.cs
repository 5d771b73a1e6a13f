using DiskImage.Crypto;
using DiskImage.Options;

namespace DiskImage.Formats.Qcow2;

/// <summary>qcow2's <c>encrypt.*</c> and legacy <c>encryption</c> create options.</summary>
internal static class Qcow2EncryptionOptions
{
    /// <summary>
    /// LUKS settings when <c>encrypt.format=luks</c>; null when nothing asks for encryption. Legacy AES
    /// (<c>encrypt.format=aes</c>, <c>encryption=on</c>) is not LUKS: null here, see <see cref="IsLegacyAes"/>.
    /// </summary>
    public static LuksCreateOptions? Parse(IReadOnlyDictionary<string, string> options)
    {
        options.TryGetValue("encrypt.format", out var format);
        if (IsLegacyAes(options))
        {
            return null;
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

    /// <summary>Whether the options ask for qcow's legacy AES encryption (<c>encryption=on</c>, <c>encrypt.format=aes</c>).</summary>
    public static bool IsLegacyAes(IReadOnlyDictionary<string, string> options) =>
        (options.TryGetValue("encryption", out var on) && KeyValueOptions.ParseBool("encryption", on))
        || (options.TryGetValue("encrypt.format", out var format) && format == "aes");
}
