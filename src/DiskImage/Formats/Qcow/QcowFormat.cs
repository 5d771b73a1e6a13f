using System.Text;
using DiskImage.IO;
using DiskImage.Options;

namespace DiskImage.Formats.Qcow;

/// <summary>QEMU's original copy-on-write format, qcow version 1, as qemu-img 7.2 reads, writes and creates it.</summary>
public sealed class QcowFormat : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static QcowFormat Instance { get; } = new();

    private QcowFormat() { }

    /// <inheritdoc/>
    public string Name => "qcow";

    /// <inheritdoc/>
    public int ProbeHeaderSize => QcowHeader.Size;

    /// <inheritdoc/>
    public bool CanCreate => true;

    /// <inheritdoc/>
    public bool SupportsCompression => true;

    /// <inheritdoc/>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => QcowHeader.HasSignature(header) ? 100 : 0;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options) => QcowImage.Open(path, options);

    /// <summary>
    /// qemu-img's qcow options. The option parser's refusals come first; the driver's (encryption, backing format)
    /// after qemu-img has announced the image, as <see cref="DriverOptionException"/>.
    /// </summary>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new QcowCreateOptions { Size = size };
        string? encryptFormat = null;
        string? keySecret = null;
        foreach (var (key, value) in options)
        {
            switch (key)
            {
                case "size" when size is not null:
                    throw new InvalidOptionException("The image size must be specified only once");
                case "size":
                    result = result with { Size = SizeText.ParseOption(key, value) };
                    break;
                case "backing_file":
                    result = result with { BackingFile = value };
                    break;
                case "backing_fmt":
                    result = result with { BackingFormat = value };
                    break;
                case "encryption":
                    // The deprecated switch: on means encrypt.format=aes, off means nothing.
                    encryptFormat = KeyValueOptions.ParseBool(key, value) ? "aes" : encryptFormat;
                    break;
                case "encrypt.format":
                    encryptFormat = value;
                    break;
                case "encrypt.key-secret":
                    keySecret = value;
                    break;
                case "nocow" or "extent_size_hint" or "preallocation":
                    // The file protocol's options: they shape the (empty) host file only.
                    FileProtocolCreateOption.Accept(key, value);
                    break;
                default:
                    throw new InvalidOptionException($"Invalid parameter '{key}'");
            }
        }

        if (result.BackingFormat is { } backingFormat && !QemuFormatNames.IsKnown(backingFormat))
        {
            throw new DriverOptionException($"unrecognized backing format '{backingFormat}'");
        }

        if (encryptFormat is null)
        {
            return keySecret is null ? result : throw new DriverOptionException("Parameter 'encrypt.format' is missing");
        }

        if (encryptFormat is not ("aes" or "qcow" or "luks"))
        {
            throw new DriverOptionException($"Parameter 'format' does not accept value '{encryptFormat}'");
        }

        if (encryptFormat == "luks")
        {
            throw new DriverOptionException("Unsupported encryption format");
        }

        return keySecret is null
            ? throw new DriverOptionException(Crypto.EncryptionSecrets.MissingKeySecretMessage)
            : result with { LegacyAesKeySecret = keySecret };
    }

    /// <summary>
    /// QEMU's layout: the header, the backing file name, then the L1 table (8-byte aligned) as zeroed sectors. With a
    /// backing file, clusters are 512 bytes and L2 tables 32 KiB (small clusters avoid copying unchanged sectors);
    /// otherwise 4 KiB each.
    /// </summary>
    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var size = options.Size ?? throw new InvalidOptionException("Image creation needs a size parameter");
        if (size == 0)
        {
            throw new InvalidOptionException("Image size is too small, cannot be zero length");
        }

        size = (size + 511) & ~511L;
        var keySecret = (options as QcowCreateOptions)?.LegacyAesKeySecret;
        if (keySecret is not null)
        {
            // The key is only checked for existence here; nothing is encrypted at creation.
            Crypto.EncryptionSecrets.Require(options.SecretProvider, keySecret);
        }

        // "fat:" names QEMU's virtual FAT driver, which qemu-img records as no backing file at all.
        var backing = options.BackingFile is null or "fat:" ? null : Encoding.UTF8.GetBytes(options.BackingFile);
        var withBacking = options.BackingFile is not null;
        var header = new QcowHeader
        {
            DiskSize = (ulong)size,
            ClusterBits = withBacking ? 9 : 12,
            L2Bits = withBacking ? 12 : 9,
            BackingFileOffset = backing is null ? 0UL : QcowHeader.Size,
            BackingFileSize = (uint)(backing?.Length ?? 0),
            CryptMethod = keySecret is null ? QcowHeader.CryptNone : QcowHeader.CryptAes,
            L1TableOffset = (ulong)((QcowHeader.Size + (backing?.Length ?? 0) + 7) & ~7),
        };
        if (header.L1Entries > int.MaxValue / 8)
        {
            throw new InvalidOptionException("Image too large");
        }

        var l1Bytes = ((header.L1Entries * 8) + 511) & ~511L;
        NewImageFile.Write(path, file =>
        {
            file.Write(0, header.ToBytes());
            if (backing is not null)
            {
                file.Write(QcowHeader.Size, backing);
            }

            file.WriteZeroBytes((long)header.L1TableOffset, l1Bytes);
            file.Flush();
        });
    }
}
