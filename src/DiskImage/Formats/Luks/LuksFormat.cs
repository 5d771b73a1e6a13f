using DiskImage.Crypto;
using DiskImage.Formats.Raw;
using DiskImage.IO;

namespace DiskImage.Formats.Luks;

/// <summary>
/// QEMU's <c>luks</c> format: a LUKS1 header and its key material at the start of the file, then the encrypted guest
/// data from the header's payload offset to the end of the file. Each 512-byte sector's IV is its guest sector number.
/// </summary>
public sealed class LuksFormat : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static LuksFormat Instance { get; } = new();

    /// <summary>QEMU's words when a LUKS image is opened for its data without a secret.</summary>
    internal const string MissingKeySecretMessage = "Parameter 'key-secret' is required for cipher";

    private LuksFormat() { }

    /// <inheritdoc/>
    public string Name => "luks";

    /// <summary>The magic and the version, as QEMU probes.</summary>
    public int ProbeHeaderSize => LuksHeader.MagicLength + 2;

    /// <summary>Certain for <c>LUKS\xba\xbe</c> followed by version 1, as QEMU's probe.</summary>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) =>
        header.Length >= ProbeHeaderSize && header[..LuksHeader.MagicLength].SequenceEqual(Magic)
        && header[LuksHeader.MagicLength] == 0 && header[LuksHeader.MagicLength + 1] == 1 ? 100 : 0;

    private static ReadOnlySpan<byte> Magic => [0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE];

    /// <inheritdoc/>
    public bool CanCreate => true;

    /// <inheritdoc/>
    public bool SupportsBackingFiles => false;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // QEMU's crypto driver holds its file as image data and metadata, so it is locked as qcow2's is. The file
        // is opened first, as QEMU opens the protocol node before the format looks at its options.
        var file = options.OpenFile(path, formatOwnsFile: true);
        try
        {
            // As QEMU: an open for data asks for the secret before it reads the header; a header-only open (info) does not.
            byte[]? passphrase = null;
            if (!options.MetadataOnly)
            {
                if (options.KeySecret is null)
                {
                    throw new InvalidOptionException(MissingKeySecretMessage);
                }

                passphrase = EncryptionSecrets.Require(options.SecretProvider, options.KeySecret, "key-secret");
            }

            file.IgnoreFlushes = options.IgnoreFlushes;
            return LuksImage.Open(file, options, passphrase);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BackingFile is not null)
        {
            throw new InvalidOptionException("Backing file not supported for file format 'luks'");
        }

        var size = options.Size ?? throw new InvalidOptionException("Image creation needs a size parameter");
        var luks = options as LuksImageCreateOptions ?? new LuksImageCreateOptions { Size = size };
        var area = LuksVolume.AreaLength(luks.Encryption.Cipher);
        if (size < 0 || size > long.MaxValue - area)
        {
            throw new FileTooLargeException("The requested file size is too large");
        }

        try
        {
            // As QEMU: the file is created (a stub already there is truncated) before the secret is looked up, and
            // removed again when that fails (iotest 282).
            using var file = NewImageFile.CreateFile(path);
            if (luks.Encryption.KeySecret is null)
            {
                throw new InvalidOptionException(MissingKeySecretMessage);
            }

            var passphrase = EncryptionSecrets.Require(options.SecretProvider, luks.Encryption.KeySecret, "key-secret");

            // As QEMU: the file gets its full length (with the preallocation asked for) before the header is written.
            try
            {
                RawPreallocator.Extend(file, 0, area + size, luks.Preallocation);
            }
            catch (Exception e) when ((e is IOException or ImageAccessException) && luks.Preallocation is Preallocation.Full or Preallocation.Falloc)
            {
                // qemu-img's words for a preallocation the file system cannot hold (the caller adds the file name).
                var what = luks.Preallocation == Preallocation.Full ? "Could not write zeros for preallocation" : "Could not preallocate new data";
                throw new ImageAccessException($"{what}: {ErrnoText.Describe(e)}", e);
            }

            var (_, masterKey) = LuksVolume.Format(new HostFileLuksStorage(file, 0, area), luks.Encryption, passphrase);
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(masterKey);
            file.Flush();
        }
        catch
        {
            // QEMU deletes a LUKS image whose creation failed: half a header protects nothing. (Its ssh driver cannot
            // delete a file, so one on an SSH server stays, as there.)
            if (!Options.SshNode.IsSshUri(path) && !IO.Nfs.NfsUrl.IsNfs(path))
            {
                FailedCreate.Remove(path);
            }
            throw;
        }
    }

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return LuksOptionValues.Parse(size, options);
    }
}
