using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// XTS mode (IEEE 1619) over any 128-bit block cipher, built on its ECB calls (all the BCL offers for AES).
/// Data units are whole multiples of 16 bytes (disk sectors), so ciphertext stealing is never needed.
/// Thread-safe, as <see cref="BlockCipher"/> is.
/// </summary>
internal sealed class XtsCipher : IDisposable
{
    public const int BlockSize = 16;
    private readonly BlockCipher _dataCipher;
    private readonly BlockCipher _tweakCipher;

    /// <summary><paramref name="key"/> is Key1 followed by Key2, each a key length of <paramref name="algorithm"/>.</summary>
    public XtsCipher(LuksCipherAlgorithm algorithm, ReadOnlySpan<byte> key)
    {
        if (key.Length is not (32 or 48 or 64) || BlockCipher.BlockSizeOf(algorithm) != BlockSize)
        {
            throw new ArgumentException("XTS needs a 128-bit block cipher and a 32, 48 or 64 byte key.", nameof(key));
        }

        var half = key.Length / 2;
        _dataCipher = BlockCipher.Create(algorithm, key[..half]);
        _tweakCipher = BlockCipher.Create(algorithm, key[half..]);
    }

    /// <summary>
    /// Encrypts consecutive data units of <paramref name="unitSize"/> bytes in place.
    /// <paramref name="ivs"/> holds one 16-byte IV (the unencrypted tweak) per unit.
    /// </summary>
    public void Encrypt(ReadOnlySpan<byte> ivs, int unitSize, Span<byte> data) => Transform(ivs, unitSize, data, encrypt: true);

    /// <summary>Decrypts consecutive data units in place; see <see cref="Encrypt"/>.</summary>
    public void Decrypt(ReadOnlySpan<byte> ivs, int unitSize, Span<byte> data) => Transform(ivs, unitSize, data, encrypt: false);

    public void Dispose()
    {
        _dataCipher.Dispose();
        _tweakCipher.Dispose();
    }

    private void Transform(ReadOnlySpan<byte> ivs, int unitSize, Span<byte> data, bool encrypt)
    {
        if (unitSize <= 0 || unitSize % BlockSize != 0 || data.Length % unitSize != 0 || ivs.Length != data.Length / unitSize * BlockSize)
        {
            throw new ArgumentException("XTS data units are whole 16-byte blocks, with one 16-byte IV each.");
        }

        if (data.IsEmpty)
        {
            return;
        }

        // All tweaks are computed first so that the AES work is two ECB calls for the whole buffer.
        var rented = ArrayPool<byte>.Shared.Rent(data.Length);
        try
        {
            var tweaks = rented.AsSpan(0, data.Length);
            var units = data.Length / unitSize;
            var firstTweaks = tweaks[..ivs.Length];
            ivs.CopyTo(firstTweaks);
            _tweakCipher.EncryptEcb(firstTweaks);

            // Spread each unit's first tweak to its slot, last unit first so that nothing is overwritten early.
            for (var unit = units - 1; unit >= 0; unit--)
            {
                var start = unit * unitSize;
                var lo = BinaryPrimitives.ReadUInt64LittleEndian(firstTweaks[(unit * BlockSize)..]);
                var hi = BinaryPrimitives.ReadUInt64LittleEndian(firstTweaks[(unit * BlockSize + 8)..]);
                for (var offset = start; offset < start + unitSize; offset += BlockSize)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(tweaks[offset..], lo);
                    BinaryPrimitives.WriteUInt64LittleEndian(tweaks[(offset + 8)..], hi);
                    MultiplyByAlpha(ref lo, ref hi);
                }
            }

            Xor(data, tweaks);
            if (encrypt)
            {
                _dataCipher.EncryptEcb(data);
            }
            else
            {
                _dataCipher.DecryptEcb(data);
            }

            Xor(data, tweaks);
            CryptographicOperations.ZeroMemory(tweaks);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Multiplies the 128-bit little-endian tweak by x in GF(2^128) modulo x^128 + x^7 + x^2 + x + 1.</summary>
    private static void MultiplyByAlpha(ref ulong lo, ref ulong hi)
    {
        var carry = hi >> 63;
        hi = (hi << 1) | (lo >> 63);
        lo = (lo << 1) ^ (carry * 0x87);
    }

    /// <summary>target ^= other, a vector at a time.</summary>
    internal static void Xor(Span<byte> target, ReadOnlySpan<byte> other)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<byte>.Count <= target.Length; i += Vector<byte>.Count)
            {
                (new Vector<byte>(target[i..]) ^ new Vector<byte>(other[i..])).CopyTo(target[i..]);
            }
        }

        for (; i < target.Length; i++)
        {
            target[i] ^= other[i];
        }
    }
}
