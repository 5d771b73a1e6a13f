using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace DiskImage.Crypto;

/// <summary>
/// Encrypts runs of 512-byte sectors with one key and a <see cref="LuksCipherSpec"/>: each sector's IV
/// comes from its number. A run may end in a shorter piece (a multiple of 16 bytes), as LUKS key
/// material can. Thread-safe.
/// </summary>
internal sealed class SectorCipher : IDisposable
{
    public const int SectorSize = 512;
    private const int BlockSize = 16;
    private readonly LuksCipherSpec _spec;
    private readonly XtsAes? _xts;
    private readonly Aes? _cbc;
    private readonly Aes? _essiv;

    public SectorCipher(LuksCipherSpec spec, ReadOnlySpan<byte> key)
    {
        if (key.Length != spec.MasterKeyBytes)
        {
            throw new ArgumentException($"The key must be {spec.MasterKeyBytes} bytes.", nameof(key));
        }

        _spec = spec;
        if (spec.Mode == LuksCipherMode.Xts)
        {
            _xts = new XtsAes(key);
        }
        else
        {
            _cbc = AesKeys.Create(key);
        }

        if (spec.IvGenerator == LuksIvGenerator.Essiv)
        {
            Span<byte> digest = stackalloc byte[64];
            var length = CryptographicOperations.HashData(spec.IvHash!.Value, key, digest);
            _essiv = AesKeys.Create(digest[..length]);
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
        _cbc?.Dispose();
        _essiv?.Dispose();
    }

    private void Transform(long firstSector, Span<byte> data, bool encrypt)
    {
        if (data.Length % BlockSize != 0)
        {
            throw new ArgumentException("Encrypted data must be a multiple of 16 bytes.", nameof(data));
        }

        var fullSectors = data.Length / SectorSize;
        var units = fullSectors + (data.Length % SectorSize == 0 ? 0 : 1);
        if (units == 0)
        {
            return;
        }

        var rented = ArrayPool<byte>.Shared.Rent(units * BlockSize);
        try
        {
            var ivs = rented.AsSpan(0, units * BlockSize);
            FillIvs(firstSector, ivs);
            if (_xts is not null)
            {
                var whole = fullSectors * SectorSize;
                Xts(ivs[..(fullSectors * BlockSize)], SectorSize, data[..whole], encrypt);
                if (whole < data.Length)
                {
                    Xts(ivs[(fullSectors * BlockSize)..], data.Length - whole, data[whole..], encrypt);
                }
            }
            else
            {
                for (var unit = 0; unit < units; unit++)
                {
                    var start = unit * SectorSize;
                    var piece = data.Slice(start, Math.Min(SectorSize, data.Length - start));
                    var iv = ivs.Slice(unit * BlockSize, BlockSize);
                    if (encrypt)
                    {
                        _cbc!.EncryptCbc(piece, iv, piece, PaddingMode.None);
                    }
                    else
                    {
                        _cbc!.DecryptCbc(piece, iv, piece, PaddingMode.None);
                    }
                }
            }
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

    private void FillIvs(long firstSector, Span<byte> ivs)
    {
        ivs.Clear();
        for (var i = 0; i * BlockSize < ivs.Length; i++)
        {
            var sector = (ulong)firstSector + (ulong)i;
            var iv = ivs.Slice(i * BlockSize, BlockSize);
            if (_spec.IvGenerator == LuksIvGenerator.Plain)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(iv, (uint)sector);
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(iv, sector);
            }
        }

        if (_essiv is not null)
        {
            _essiv.EncryptEcb(ivs, ivs, PaddingMode.None);
        }
    }
}
