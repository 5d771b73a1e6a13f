using System.Buffers.Binary;
using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// LUKS1's anti-forensic information splitter: a key is stored as many random-looking stripes that
/// must all be intact to recover it, so erasing any part of the material destroys the key.
/// </summary>
internal static class AntiForensicSplitter
{
    /// <summary>Splits <paramref name="key"/> into <paramref name="stripes"/> stripes written to <paramref name="output"/>.</summary>
    public static void Split(ReadOnlySpan<byte> key, int stripes, HashAlgorithmName hash, Span<byte> output)
    {
        CheckLengths(key.Length, stripes, output.Length);
        var blockSize = key.Length;
        var block = new byte[blockSize];
        try
        {
            RandomNumberGenerator.Fill(output[..(blockSize * (stripes - 1))]);
            for (var i = 0; i < stripes - 1; i++)
            {
                XtsCipher.Xor(block, output.Slice(i * blockSize, blockSize));
                Diffuse(block, hash);
            }

            var last = output.Slice((stripes - 1) * blockSize, blockSize);
            key.CopyTo(last);
            XtsCipher.Xor(last, block);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(block);
        }
    }

    /// <summary>Recovers a key of <paramref name="key"/>.Length bytes from its stripes.</summary>
    public static void Merge(ReadOnlySpan<byte> material, int stripes, HashAlgorithmName hash, Span<byte> key)
    {
        CheckLengths(key.Length, stripes, material.Length);
        var blockSize = key.Length;
        key.Clear();
        for (var i = 0; i < stripes - 1; i++)
        {
            XtsCipher.Xor(key, material.Slice(i * blockSize, blockSize));
            Diffuse(key, hash);
        }

        XtsCipher.Xor(key, material.Slice((stripes - 1) * blockSize, blockSize));
    }

    /// <summary>Replaces each digest-sized piece of <paramref name="block"/> by hash(be32 index ‖ piece), truncated to the piece.</summary>
    private static void Diffuse(Span<byte> block, HashAlgorithmName hash)
    {
        var digestSize = LuksHash.DigestSize(hash);
        Span<byte> input = stackalloc byte[4 + LuksHash.MaxDigestSize];
        Span<byte> digest = stackalloc byte[LuksHash.MaxDigestSize];
        for (var piece = 0; piece * digestSize < block.Length; piece++)
        {
            var part = block.Slice(piece * digestSize, Math.Min(digestSize, block.Length - piece * digestSize));
            BinaryPrimitives.WriteUInt32BigEndian(input, (uint)piece);
            part.CopyTo(input[4..]);
            LuksHash.HashData(hash, input[..(4 + part.Length)], digest);
            digest[..part.Length].CopyTo(part);
        }

        CryptographicOperations.ZeroMemory(input);
        CryptographicOperations.ZeroMemory(digest);
    }

    private static void CheckLengths(int keyLength, int stripes, int materialLength)
    {
        if (keyLength <= 0 || stripes <= 0 || (long)keyLength * stripes != materialLength)
        {
            throw new ArgumentException("Key material must be key length × stripes bytes.");
        }
    }
}
