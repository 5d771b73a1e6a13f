using DiskImage.Crypto;
using DiskImage.Options;

namespace DiskImage.Formats.Luks;

/// <summary>
/// Reads <c>create -f luks</c>'s <c>-o</c> list. Values QEMU's option types reject (an unknown key, a non-number
/// <c>iter-time</c>) are refused before qemu-img's "Formatting" line; names outside QEMU's enumerations after it, as
/// its format driver refuses them; names QEMU knows but this library does not implement are refused as unsupported.
/// </summary>
internal static class LuksOptionValues
{
    private static readonly HashSet<string> s_keys = ["size", "key-secret", "cipher-alg", "cipher-mode", "ivgen-alg", "ivgen-hash-alg", "hash-alg", "iter-time", "preallocation"];

    private static readonly HashSet<string> s_cipherAlgs =
        ["aes-128", "aes-192", "aes-256", "des", "3des", "cast5-128", "serpent-128", "serpent-192", "serpent-256", "twofish-128", "twofish-192", "twofish-256"];

    private static readonly HashSet<string> s_cipherModes = ["ecb", "cbc", "xts", "ctr"];
    private static readonly HashSet<string> s_ivgenAlgs = ["plain", "plain64", "essiv"];
    private static readonly HashSet<string> s_hashAlgs = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160"];

    public static LuksImageCreateOptions Parse(long? size, IReadOnlyDictionary<string, string> options)
    {
        foreach (var key in options.Keys)
        {
            if (!s_keys.Contains(key))
            {
                throw new InvalidOptionException($"Invalid parameter '{key}'");
            }
        }

        if (options.TryGetValue("iter-time", out var iterText) && !ulong.TryParse(iterText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
        {
            throw new InvalidOptionException("Parameter 'iter-time' expects a number");
        }

        var result = new LuksImageCreateOptions { Size = size };
        if (options.TryGetValue("size", out var sizeText))
        {
            result = result with { Size = SizeText.ParseOption("size", sizeText) };
        }

        CheckEnum(options, "cipher-alg", s_cipherAlgs);
        CheckEnum(options, "cipher-mode", s_cipherModes);
        CheckEnum(options, "ivgen-alg", s_ivgenAlgs);
        CheckEnum(options, "ivgen-hash-alg", s_hashAlgs);
        CheckEnum(options, "hash-alg", s_hashAlgs);
        var preallocation = options.GetValueOrDefault("preallocation") switch
        {
            null or "off" or "metadata" => Preallocation.Off,
            "falloc" => Preallocation.Falloc,
            "full" => Preallocation.Full,
            var other => throw new DriverOptionException($"invalid parameter value: {other}"),
        };

        var encryptKeys = options.Where(o => o.Key is not ("size" or "preallocation")).ToDictionary(o => "encrypt." + o.Key, o => o.Value);
        LuksCreateOptions encryption;
        try
        {
            // QEMU takes iter-time 0 as its minimum iteration count; the shared parser wants a positive time.
            if (encryptKeys.TryGetValue("encrypt.iter-time", out var iter) && ulong.Parse(iter, System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                encryptKeys["encrypt.iter-time"] = "1";
            }

            encryption = LuksCreateOptions.FromKeyValues(encryptKeys);
        }
        catch (InvalidOptionException e) when (e is not DriverOptionException)
        {
            // Every value is one QEMU knows by now: what is left is this library's own limit (aes, xts/cbc, SHA-1/2).
            throw new DriverOptionException(e.Message.Replace("encrypt.", "", StringComparison.Ordinal), e);
        }

        return result with { Encryption = encryption, Preallocation = preallocation };
    }

    private static void CheckEnum(IReadOnlyDictionary<string, string> options, string key, HashSet<string> allowed)
    {
        if (options.TryGetValue(key, out var value) && !allowed.Contains(value))
        {
            throw new DriverOptionException($"Parameter '{key}' does not accept value '{value}'");
        }
    }
}
