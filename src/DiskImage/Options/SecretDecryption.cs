using System.Security.Cryptography;

namespace DiskImage.Options;

/// <summary>
/// A secret given encrypted (<c>keyid=</c>, <c>iv=</c>): AES-256-CBC under another secret's 32-byte key, with the
/// trailing padding byte count removed as QEMU removes it. The checks and their wording are QEMU's.
/// </summary>
internal static class SecretDecryption
{
    private const int BlockSize = 16;

    /// <summary>The plaintext of <paramref name="ciphertext"/>.</summary>
    /// <param name="ciphertext">The secret's data, base64 already decoded.</param>
    /// <param name="key">The key secret's bytes, or null when no secret has that id.</param>
    /// <param name="keyId">The key secret's id, for the error.</param>
    /// <param name="ivText">The <c>iv</c> property: 16 bytes in base64.</param>
    public static byte[] Decrypt(byte[] ciphertext, byte[]? key, string keyId, string? ivText)
    {
        if (key is null)
        {
            throw new InvalidOptionException($"No secret with id '{keyId}'");
        }

        if (key.Length != 32)
        {
            throw new InvalidOptionException("Key should be 32 bytes in length");
        }

        if (ivText is null)
        {
            throw new InvalidOptionException("IV is required to decrypt secret");
        }

        var iv = DecodeBase64(System.Text.Encoding.UTF8.GetBytes(ivText));
        if (iv.Length != BlockSize)
        {
            throw new InvalidOptionException($"IV should be 16 bytes in length not {iv.Length}");
        }

        if (ciphertext.Length % BlockSize != 0)
        {
            throw new InvalidOptionException($"Length {ciphertext.Length} must be a multiple of block size {BlockSize}");
        }

        if (ciphertext.Length == 0)
        {
            // Nothing to strip padding from: the secret is empty (QEMU reads a stray byte here and usually agrees).
            return [];
        }

        using var aes = Aes.Create();
        aes.Key = key;
        var plaintext = aes.DecryptCbc(ciphertext, iv, PaddingMode.None);
        var padding = plaintext[^1];
        if (padding > BlockSize || padding > plaintext.Length)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw new InvalidOptionException($"Incorrect number of padding bytes ({padding}) found on decrypted data");
        }

        var result = plaintext.AsSpan(0, plaintext.Length - padding).ToArray();
        CryptographicOperations.ZeroMemory(plaintext);
        return result;
    }

    /// <summary>QEMU's base64 for the IV: only the alphabet, '=' and newlines, read as GLib reads it.</summary>
    private static byte[] DecodeBase64(byte[] text)
    {
        foreach (var c in text)
        {
            if (c != '\n' && Codecs.GlibBase64.Rank(c) < 0)
            {
                throw new InvalidOptionException("Base64 data contains invalid characters");
            }
        }

        var output = new byte[(text.Length / 4 * 3) + 3];
        var length = Codecs.GlibBase64.Decode(text, output);
        return output.AsSpan(0, length).ToArray();
    }
}
