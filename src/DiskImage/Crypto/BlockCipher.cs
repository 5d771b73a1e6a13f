using Org.BouncyCastle.Crypto.Engines;

namespace DiskImage.Crypto;

/// <summary>
/// One keyed block cipher, encrypting whole blocks in place. AES runs on the BCL (hardware accelerated); Twofish,
/// Serpent and CAST5, which the BCL lacks, on BouncyCastle's engines. The chaining modes (<see cref="SectorCipher"/>,
/// <see cref="XtsCipher"/>) are built on these calls, so they work for every cipher. Thread-safe.
/// </summary>
internal abstract class BlockCipher : IDisposable
{
    /// <summary>Bytes per block: 16, or 8 for CAST5.</summary>
    public abstract int BlockSize { get; }

    /// <summary>Encrypts whole blocks in place, each on its own.</summary>
    public abstract void EncryptEcb(Span<byte> data);

    /// <summary>Decrypts whole blocks in place, each on its own.</summary>
    public abstract void DecryptEcb(Span<byte> data);

    /// <summary>CBC-encrypts whole blocks in place, chaining from <paramref name="iv"/>.</summary>
    public virtual void EncryptCbc(Span<byte> data, ReadOnlySpan<byte> iv)
    {
        var size = BlockSize;
        ReadOnlySpan<byte> previous = iv;
        for (var offset = 0; offset < data.Length; offset += size)
        {
            var block = data.Slice(offset, size);
            XtsCipher.Xor(block, previous);
            EncryptEcb(block);
            previous = block;
        }
    }

    /// <summary>CBC-decrypts whole blocks in place, chaining from <paramref name="iv"/>.</summary>
    public virtual void DecryptCbc(Span<byte> data, ReadOnlySpan<byte> iv)
    {
        // Last block first, so that each block's predecessor is still ciphertext when it is needed.
        var size = BlockSize;
        for (var offset = data.Length - size; offset >= 0; offset -= size)
        {
            var block = data.Slice(offset, size);
            DecryptEcb(block);
            XtsCipher.Xor(block, offset == 0 ? iv : data.Slice(offset - size, size));
        }
    }

    public abstract void Dispose();

    /// <summary>Block size of <paramref name="algorithm"/> in bytes.</summary>
    public static int BlockSizeOf(LuksCipherAlgorithm algorithm) => algorithm == LuksCipherAlgorithm.Cast5 ? 8 : 16;

    /// <summary>A cipher of <paramref name="algorithm"/> keyed with <paramref name="key"/> (a length the algorithm takes).</summary>
    public static BlockCipher Create(LuksCipherAlgorithm algorithm, ReadOnlySpan<byte> key) => algorithm switch
    {
        LuksCipherAlgorithm.Aes => new AesBlockCipher(key),
        LuksCipherAlgorithm.Twofish => new EngineBlockCipher(() => new TwofishEngine(), 16, key),
        LuksCipherAlgorithm.Serpent => new EngineBlockCipher(() => new SerpentEngine(), 16, key),
        LuksCipherAlgorithm.Cast5 => new EngineBlockCipher(() => new Cast5Engine(), 8, key),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };
}
