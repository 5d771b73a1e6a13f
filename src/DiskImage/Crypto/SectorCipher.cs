using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// Encrypts runs of 512-byte sectors with one key and a <see cref="LuksCipherSpec"/>: each sector's IV
/// comes from its number. A run may end in a shorter piece (a multiple of the block size), as LUKS key
/// material can. Thread-safe.
/// </summary>
internal sealed class SectorCipher : IDisposable
{
    public const int SectorSize = 512;
    private readonly LuksCipherSpec _spec;
    private readonly int _blockSize;
    private readonly XtsCipher? _xts;
    private readonly BlockCipher? _cipher;
    private readonly BlockCipher? _essiv;

    public SectorCipher(LuksCipherSpec spec, ReadOnlySpan<byte> key)
    {
        if (key.Length != spec.MasterKeyBytes)
        {
            throw new ArgumentException($"The key must be {spec.MasterKeyBytes} bytes.", nameof(key));
        }

        _spec = spec;
        _blockSize = BlockCipher.BlockSizeOf(spec.Algorithm);
        if (spec.Mode == LuksCipherMode.Xts)
        {
            if (_blockSize != XtsCipher.BlockSize)
            {
                // QEMU's cipher layer has no XTS for 64-bit blocks; a header asking for it fails when it is unlocked.
                throw new InvalidImageException("Unsupported cipher mode xts");
            }

            _xts = new XtsCipher(spec.Algorithm, key);
        }
        else
        {
            _cipher = BlockCipher.Create(spec.Algorithm, key);
        }

        if (spec.IvGenerator == LuksIvGenerator.Essiv && spec.Mode != LuksCipherMode.Ecb)
        {
            // dm-crypt's ESSIV: the IV cipher is the same algorithm keyed with the hash of the data key.
            Span<byte> digest = stackalloc byte[LuksHash.MaxDigestSize];
            var length = LuksHash.HashData(spec.IvHash!.Value, key, digest);
            _essiv = BlockCipher.Create(spec.Algorithm, digest[..length]);
            CryptographicOperations.ZeroMemory(digest);
        }
    }

    /// <summary>Encrypts <paramref name="data"/> in place; its first sector has number <paramref name="firstSector"/>.</summary>
    public void Encrypt(long firstSector, Span<byte> data) => Transform(firstSector, data, encrypt: true);

    /// <summary>Decrypts <paramref name="data"/> in place.</summary>
    public void Decrypt(long firstSector, Span<byte> data) => Transform(firstSector, data, encrypt: false);

    public void Dispose()
    {
        _xts?.Dispose();
        _cipher?.Dispose();
        _essiv?.Dispose();
    }

    private void Transform(long firstSector, Span<byte> data, bool encrypt)
    {
        if (data.Length % _blockSize != 0)
        {
            throw new ArgumentException($"Encrypted data must be a multiple of {_blockSize} bytes.", nameof(data));
        }

        if (_spec.Mode == LuksCipherMode.Ecb)
        {
            // No IV: QEMU's ECB takes none, whatever IV generator the header names.
            if (encrypt)
            {
                _cipher!.EncryptEcb(data);
            }
            else
            {
                _cipher!.DecryptEcb(data);
            }

            return;
        }

        var fullSectors = data.Length / SectorSize;
        var units = fullSectors + (data.Length % SectorSize == 0 ? 0 : 1);
        if (units == 0)
        {
            return;
        }

        var rented = ArrayPool<byte>.Shared.Rent(units * _blockSize);
        try
        {
            var ivs = rented.AsSpan(0, units * _blockSize);
            FillIvs(firstSector, ivs);
            if (_xts is not null)
            {
                var whole = fullSectors * SectorSize;
                Xts(ivs[..(fullSectors * _blockSize)], SectorSize, data[..whole], encrypt);
                if (whole < data.Length)
                {
                    Xts(ivs[(fullSectors * _blockSize)..], data.Length - whole, data[whole..], encrypt);
                }

                return;
            }

            for (var unit = 0; unit < units; unit++)
            {
                var start = unit * SectorSize;
                var piece = data.Slice(start, Math.Min(SectorSize, data.Length - start));
                var iv = ivs.Slice(unit * _blockSize, _blockSize);
                if (_spec.Mode == LuksCipherMode.Ctr)
                {
                    Ctr(piece, iv);
                }
                else if (encrypt)
                {
                    _cipher!.EncryptCbc(piece, iv);
                }
                else
                {
                    _cipher!.DecryptCbc(piece, iv);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>XORs <paramref name="piece"/> with the keystream of counter blocks starting at <paramref name="iv"/> (big-endian increments).</summary>
    private void Ctr(Span<byte> piece, ReadOnlySpan<byte> iv)
    {
        var rented = ArrayPool<byte>.Shared.Rent(piece.Length);
        try
        {
            var stream = rented.AsSpan(0, piece.Length);
            Span<byte> counter = stackalloc byte[_blockSize];
            iv.CopyTo(counter);
            for (var offset = 0; offset < stream.Length; offset += _blockSize)
            {
                counter.CopyTo(stream[offset..]);
                for (var i = _blockSize - 1; i >= 0 && ++counter[i] == 0; i--)
                {
                }
            }

            _cipher!.EncryptEcb(stream);
            XtsCipher.Xor(piece, stream);
            CryptographicOperations.ZeroMemory(stream);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void Xts(ReadOnlySpan<byte> ivs, int unitSize, Span<byte> data, bool encrypt)
    {
        if (encrypt)
        {
            _xts!.Encrypt(ivs, unitSize, data);
        }
        else
        {
            _xts!.Decrypt(ivs, unitSize, data);
        }
    }

    /// <summary>One block-sized IV per unit: the sector number (32 or 64 bits, little-endian, zero-padded), ESSIV-encrypted when asked.</summary>
    private void FillIvs(long firstSector, Span<byte> ivs)
    {
        ivs.Clear();
        for (var i = 0; i * _blockSize < ivs.Length; i++)
        {
            var sector = (ulong)firstSector + (ulong)i;
            var iv = ivs.Slice(i * _blockSize, _blockSize);
            if (_spec.IvGenerator == LuksIvGenerator.Plain)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(iv, (uint)sector);
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(iv, sector);
            }
        }

        _essiv?.EncryptEcb(ivs);
    }
}
