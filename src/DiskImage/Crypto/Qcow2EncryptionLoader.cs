using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Crypto;

/// <summary>
/// Opens the encryption of a qcow2 image: crypt_method 1 is legacy AES keyed by the passphrase itself,
/// crypt_method 2 a LUKS area that the FDE header extension points at. Without a passphrase the
/// LUKS header is still read (for <c>info</c>), but no data can be decrypted.
/// </summary>
internal static class Qcow2EncryptionLoader
{
    public const int CryptAes = 1;
    public const int CryptLuks = 2;

    /// <summary>What was found: the data transform (null when locked) and what <c>info</c> shows.</summary>
    public sealed record Result(ISectorEncryption? Encryption, EncryptionInfo Info, LuksVolume? Volume);

    /// <summary>
    /// Loads the encryption for <paramref name="cryptMethod"/>; <paramref name="luksArea"/> is the FDE
    /// extension's (offset, length), required for LUKS.
    /// </summary>
    public static Result Load(IStorage file, int cryptMethod, (long Offset, long Length)? luksArea, int clusterSize, ImageOpenOptions options)
    {
        // The passphrase belongs to the caller's secret store, which outlives this open; it is not wiped here.
        // A metadata-only open never unlocks (as QEMU's no-I/O open), so even a wrong passphrase shows the header.
        var passphrase = options.MetadataOnly ? null : EncryptionSecrets.Find(options);
        if (cryptMethod == CryptAes)
        {
            var legacy = passphrase is null ? null : new LegacyAesEncryption(passphrase);
            return new Result(legacy, new EncryptionInfo { Format = "aes" }, null);
        }

        if (cryptMethod != CryptLuks)
        {
            throw new UnsupportedFeatureException($"Unsupported encryption method: {cryptMethod}");
        }

        var volume = LuksVolume.Open(OpenArea(file, luksArea, clusterSize));
        var encryption = passphrase is null ? null : LuksEncryption.Unlock(volume, passphrase);
        return new Result(encryption, EncryptionInfo.FromLuks(volume.Header), volume);
    }

    /// <summary>The LUKS area of an image, bounded by the file.</summary>
    public static HostFileLuksStorage OpenArea(IStorage file, (long Offset, long Length)? luksArea, int clusterSize)
    {
        if (luksArea is not { } area)
        {
            throw new InvalidImageException("Missing CRYPTO header for crypt method 2");
        }

        if (area.Offset <= 0 || area.Offset % clusterSize != 0)
        {
            throw new InvalidImageException($"Encryption header offset '{area.Offset}' is not a multiple of cluster size '{clusterSize}'");
        }

        if (area.Length < LuksHeader.Size || area.Length > file.Length || area.Offset > file.Length - area.Length)
        {
            throw new InvalidImageException($"Encryption header of {area.Length} bytes at {area.Offset} lies outside the image file", area.Offset);
        }

        return new HostFileLuksStorage(file, area.Offset, area.Length);
    }
}
