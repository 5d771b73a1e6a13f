using System.Buffers;
using System.Buffers.Binary;
using DiskImage.Crypto;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Encrypted images: data clusters pass through <see cref="Cipher"/> in whole 512-byte sectors. Reads
/// and writes that do not cover whole sectors are widened to them (a partial write decrypts the sector,
/// merges and re-encrypts it under the metadata lock, so concurrent writers cannot lose each other's bytes).
/// </summary>
public sealed partial class Qcow2Image
{
    private const int SectorSize = 512;
    private EncryptionInfo? _encryptionInfo;

    /// <summary>The LUKS area's header and key slots, for images with crypt_method 2.</summary>
    internal LuksVolume? LuksVolume { get; private set; }

    private void LoadEncryption(ImageOpenOptions options)
    {
        var loaded = Qcow2EncryptionLoader.Load(_file, _header.CryptMethod, LuksArea(_header), _clusterSize, options);
        Cipher = loaded.Encryption;
        LuksVolume = loaded.Volume;
        _encryptionInfo = loaded.Info;
        if (Cipher is null && !options.MetadataOnly)
        {
            // As qemu-img: an image whose data cannot be decrypted is not opened for anything but inspection.
            throw new InvalidOptionException(EncryptionSecrets.MissingKeySecretMessage);
        }

        if (Cipher is { CanEncrypt: false } && !options.ReadOnly)
        {
            Cipher.Dispose();
            throw new UnsupportedFeatureException(
                "Writing to AES encrypted qcow2 images is not supported; convert the image to LUKS (encrypt.format=luks) instead");
        }
    }

    /// <summary>
    /// Turns a freshly created, unencrypted image into a LUKS-encrypted one the way qemu-img does it, as
    /// the last creation step: cluster-aligned LUKS area allocated after everything else, FDE extension
    /// placed after the backing-format one, crypt_method 2.
    /// </summary>
    internal void SetUpEncryption(LuksCreateOptions options, ReadOnlySpan<byte> passphrase)
    {
        CheckWritable();
        lock (_lock)
        {
            var length = LuksVolume.AreaLength(options.Cipher);
            var clusters = (int)((length + _clusterSize - 1) / _clusterSize);
            var offset = _refcounts!.Allocate(clusters);
            var end = offset + ((long)clusters * _clusterSize);
            if (_file.Length < end)
            {
                _file.SetLength(end);
            }

            var (volume, masterKey) = LuksVolume.Format(new HostFileLuksStorage(_file, offset, length), options, passphrase);
            try
            {
                Cipher = new LuksEncryption(volume.Header.CipherSpec, masterKey);
            }
            finally
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(masterKey);
            }

            LuksVolume = volume;
            _encryptionInfo = EncryptionInfo.FromLuks(volume.Header);
            FlushMetadataLocked();

            var pointer = new byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(pointer, (ulong)offset);
            BinaryPrimitives.WriteUInt64BigEndian(pointer.AsSpan(8), (ulong)length);
            var extensions = _header.Extensions.Where(e => e.Magic != Qcow2Constants.ExtensionCryptoHeader).ToList();
            var afterBackingFormat = extensions.FindIndex(e => e.Magic == Qcow2Constants.ExtensionBackingFormat) + 1;
            extensions.Insert(afterBackingFormat, new Qcow2HeaderExtension(Qcow2Constants.ExtensionCryptoHeader, pointer));
            _header = _header with { CryptMethod = Qcow2Constants.CryptLuks, Extensions = extensions };
            WriteHeaderLocked();
            _file.Flush();
        }
    }

    /// <summary>
    /// Adds or erases LUKS key slots (qemu-img amend's <c>encrypt.*</c> options). The master key for a new
    /// slot comes from the old secret, or from the key secret the image was opened with.
    /// </summary>
    internal void AmendEncryption(LuksAmendOptions amendment)
    {
        CheckWritable();
        if (LuksVolume is null)
        {
            throw new InvalidOptionException("Key slots can only be changed on LUKS encrypted images");
        }

        lock (_lock)
        {
            amendment.Apply(LuksVolume, _options.SecretProvider, _options.KeySecret);
            _encryptionInfo = EncryptionInfo.FromLuks(LuksVolume.Header);
            _file.Flush();
        }
    }

    /// <summary>The FDE header extension's (offset, length) of the LUKS area, when present.</summary>
    internal static (long Offset, long Length)? LuksArea(Qcow2Header header)
    {
        var extension = header.FindExtension(Qcow2Constants.ExtensionCryptoHeader);
        if (extension is null || extension.Data.Length != 16)
        {
            return null;
        }

        var offset = BinaryPrimitives.ReadUInt64BigEndian(extension.Data);
        var length = BinaryPrimitives.ReadUInt64BigEndian(extension.Data.AsSpan(8));
        if (offset > long.MaxValue || length > long.MaxValue)
        {
            throw new InvalidImageException("Encryption header offset or length is out of range");
        }

        return ((long)offset, (long)length);
    }

    private void ReadEncrypted(long guestOffset, long hostOffset, Span<byte> target)
    {
        var head = (int)(hostOffset & (SectorSize - 1));
        var length = AlignUp(head + target.Length);
        if (head == 0 && length == target.Length)
        {
            _data.Read(hostOffset, target);
            Cipher!.Decrypt(guestOffset, hostOffset, target);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var sectors = buffer.AsSpan(0, length);
            _data.Read(hostOffset - head, sectors);
            Cipher!.Decrypt(guestOffset - head, hostOffset - head, sectors);
            sectors.Slice(head, target.Length).CopyTo(target);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    private void WriteEncrypted(long guestOffset, long hostOffset, ReadOnlySpan<byte> data)
    {
        var head = (int)(hostOffset & (SectorSize - 1));
        var length = AlignUp(head + data.Length);
        var partial = head != 0 || length != data.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var sectors = buffer.AsSpan(0, length);
            if (!partial)
            {
                data.CopyTo(sectors);
                Cipher!.Encrypt(guestOffset, hostOffset, sectors);
                _data.Write(hostOffset, sectors);
                return;
            }

            lock (_lock)
            {
                // Only the first and last sectors hold bytes that must be kept; the host cluster is allocated,
                // so decrypting them with the host offset gives their current content.
                var guest = guestOffset - head;
                var host = hostOffset - head;
                var last = length - SectorSize;
                _data.Read(host, sectors[..SectorSize]);
                _data.Read(host + last, sectors[last..]);
                Cipher!.Decrypt(guest, host, sectors[..SectorSize]);
                if (length > SectorSize)
                {
                    Cipher.Decrypt(guest + last, host + last, sectors[last..]);
                }

                data.CopyTo(sectors[head..]);
                Cipher.Encrypt(guest, host, sectors);
                _data.Write(hostOffset - head, sectors);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }

    private static int AlignUp(int value) => (value + SectorSize - 1) & ~(SectorSize - 1);
}
