using System.Collections.Concurrent;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;

namespace DiskImage.Crypto;

/// <summary>
/// A BouncyCastle block cipher engine behind <see cref="BlockCipher"/>. Engines keep scratch state while they work,
/// so each call takes one from a pool (keyed on first use); concurrent readers and writers never share one.
/// </summary>
internal sealed class EngineBlockCipher : BlockCipher
{
    private readonly Func<IBlockCipher> _factory;
    private readonly byte[] _key;
    private readonly ConcurrentBag<IBlockCipher> _encryptors = [];
    private readonly ConcurrentBag<IBlockCipher> _decryptors = [];

    public EngineBlockCipher(Func<IBlockCipher> factory, int blockSize, ReadOnlySpan<byte> key)
    {
        _factory = factory;
        _key = key.ToArray();
        BlockSize = blockSize;

        // Keyed once here so that a key length the engine refuses fails now, not at the first sector.
        _encryptors.Add(NewEngine(forEncryption: true));
    }

    public override int BlockSize { get; }

    public override void EncryptEcb(Span<byte> data) => Run(_encryptors, forEncryption: true, data);

    public override void DecryptEcb(Span<byte> data) => Run(_decryptors, forEncryption: false, data);

    public override void Dispose()
    {
        CryptographicOperations.ZeroMemory(_key);
        _encryptors.Clear();
        _decryptors.Clear();
    }

    private void Run(ConcurrentBag<IBlockCipher> pool, bool forEncryption, Span<byte> data)
    {
        if (data.Length % BlockSize != 0)
        {
            throw new ArgumentException($"Data must be whole {BlockSize}-byte blocks.", nameof(data));
        }

        var engine = pool.TryTake(out var pooled) ? pooled : NewEngine(forEncryption);
        try
        {
            for (var offset = 0; offset < data.Length; offset += BlockSize)
            {
                var block = data.Slice(offset, BlockSize);
                engine.ProcessBlock(block, block);
            }
        }
        finally
        {
            pool.Add(engine);
        }
    }

    private IBlockCipher NewEngine(bool forEncryption)
    {
        var engine = _factory();
        engine.Init(forEncryption, new KeyParameter(_key));
        return engine;
    }
}
