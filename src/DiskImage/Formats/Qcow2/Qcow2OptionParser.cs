using System.Globalization;
using DiskImage.Options;

namespace DiskImage.Formats.Qcow2;

/// <summary>Turns qemu-img's qcow2 <c>-o</c> keys into <see cref="Qcow2CreateOptions"/>, refusing what qemu-img 7.2 refuses, in its words.</summary>
internal static class Qcow2OptionParser
{
    public static Qcow2CreateOptions Parse(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // A cipher QEMU's LUKS driver refuses is reported after the Formatting line, like the other driver errors.
        DriverOptionException? refusedByDriver = null;
        Crypto.LuksCreateOptions? encryption = null;
        try
        {
            encryption = Qcow2EncryptionOptions.Parse(options);
        }
        catch (DriverOptionException e)
        {
            refusedByDriver = e;
        }

        var result = new Qcow2CreateOptions { Size = size, Encryption = encryption };
        if (Qcow2EncryptionOptions.IsLegacyAes(options))
        {
            var keySecret = options.GetValueOrDefault("encrypt.key-secret");
            refusedByDriver ??= keySecret is null ? new DriverOptionException(Crypto.EncryptionSecrets.MissingKeySecretMessage) : null;
            result = result with { LegacyAesKeySecret = keySecret };
        }

        foreach (var (key, value) in options)
        {
            if (key.StartsWith("encrypt.", StringComparison.Ordinal) || key == "encryption")
            {
                continue;
            }

            // The option parser's errors win over the driver's, whatever their order on the command line.
            try
            {
                result = Apply(result, key, value, size);
            }
            catch (DriverOptionException e)
            {
                refusedByDriver ??= e;
            }
        }

        return refusedByDriver is null ? Validate(result) : throw refusedByDriver;
    }

    private static Qcow2CreateOptions Apply(Qcow2CreateOptions result, string key, string value, long? size) => key switch
        {
            "size" when size is not null => throw new InvalidOptionException("The image size must be specified only once"),
            "size" => result with { Size = SizeText.ParseOption(key, value) },
            "compat" => result with { Version = ParseCompat(value) },
            "cluster_size" => result with { ClusterSize = ParseClusterSize(value) },
            "refcount_bits" => result with { RefcountBits = ParseNumber(key, value) },
            "lazy_refcounts" => result with { LazyRefcounts = KeyValueOptions.ParseBool(key, value) },
            "extended_l2" => result with { ExtendedL2 = KeyValueOptions.ParseBool(key, value) },
            "preallocation" => result with { Preallocation = ParsePreallocation(value) },
            "compression_type" => result with { CompressionType = ParseCompressionType(value) },
            "backing_file" => result with { BackingFile = value },
            "backing_fmt" => result with { BackingFormat = value },
            "data_file" => result with { DataFile = value },
            "data_file_raw" => result with { DataFileRaw = KeyValueOptions.ParseBool(key, value) },
            "nocow" or "extent_size_hint" => result,
            _ => throw new InvalidOptionException($"Invalid parameter '{key}'"),
        };

    /// <summary>Options given as the common base record get qcow2's defaults.</summary>
    public static Qcow2CreateOptions FromCommon(ImageCreateOptions options) => Validate(new Qcow2CreateOptions
    {
        Size = options.Size,
        BackingFile = options.BackingFile,
        BackingFormat = options.BackingFormat,
        SkipBackingCheck = options.SkipBackingCheck,
        Registry = options.Registry,
        SecretProvider = options.SecretProvider,
    });

    /// <summary>Refuses invalid combinations, in qemu-img's order and words.</summary>
    public static Qcow2CreateOptions Validate(Qcow2CreateOptions options)
    {
        var clusterSize = options.ClusterSize;
        if (clusterSize < 512 || clusterSize > 2 * 1024 * 1024 || (clusterSize & (clusterSize - 1)) != 0)
        {
            throw new DriverOptionException("Cluster size must be a power of two between 512 and 2048k");
        }

        if (options.Version is not (2 or 3))
        {
            throw new DriverOptionException($"Parameter 'version' does not accept value '{options.Version}'");
        }

        if (options.Version == 2 && options.LazyRefcounts)
        {
            throw new DriverOptionException("Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 or greater)");
        }

        if (options.BackingFile is not null && options.BackingFormat is null)
        {
            // Refused after the image is announced; qemu-img create adds what it detected (see ImageCreator).
            throw new DriverOptionException("Backing file specified without backing format");
        }

        if (options.BackingFile is null && options.BackingFormat is not null)
        {
            throw new DriverOptionException("Backing format cannot be used without backing file");
        }

        var bits = options.RefcountBits;
        if (bits < 1 || bits > 64 || (bits & (bits - 1)) != 0)
        {
            throw new DriverOptionException("Refcount width must be a power of two and may not exceed 64 bits");
        }

        if (options.Version == 2 && bits != 16)
        {
            throw new DriverOptionException("Different refcount widths than 16 bits require compatibility level 1.1 or above (use version=v3 or greater)");
        }

        if (options.DataFileRaw && options.DataFile is null)
        {
            throw new DriverOptionException("data-file-raw requires data-file");
        }

        if (options.DataFileRaw && options.BackingFile is not null)
        {
            throw new DriverOptionException("Backing file and data-file-raw cannot be used at the same time");
        }

        if (options.DataFile is not null && options.Version == 2)
        {
            throw new DriverOptionException("External data files are only supported with compatibility level 1.1 and above (use version=v3 or greater)");
        }

        if (options.Version == 2 && options.CompressionType != Qcow2CompressionType.Zlib)
        {
            throw new DriverOptionException("Non-zlib compression type is only supported with compatibility level 1.1 and above (use version=v3 or greater)");
        }

        // A preallocated cluster of an overlay would hide its backing file; only subclusters can stay unallocated.
        if (options.BackingFile is not null && options.Preallocation != Preallocation.Off && !options.ExtendedL2)
        {
            throw new DriverOptionException("Backing file and preallocation can only be used at the same time if extended_l2 is on");
        }

        if (options.ExtendedL2)
        {
            if (options.Version == 2)
            {
                throw new DriverOptionException("Extended L2 entries are only supported with compatibility level 1.1 and above (use version=v3 or greater)");
            }

            if (clusterSize < 16384)
            {
                throw new DriverOptionException("Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
            }
        }

        return options;
    }

    private static int ParseCompat(string value) => value switch
    {
        "0.10" or "v2" => 2,
        "1.1" or "v3" => 3,
        _ => throw new DriverOptionException($"Parameter 'version' does not accept value '{value}'"),
    };

    private static int ParseClusterSize(string value)
    {
        var size = SizeText.ParseOption("cluster_size", value);
        return size > int.MaxValue ? int.MaxValue : (int)size;
    }

    /// <summary>A QEMU number option; values beyond int (a wrapped negative among them) become int.MaxValue, which no check accepts.</summary>
    private static int ParseNumber(string key, string value) =>
        QemuNumber.Parse(key, value) is var number && number <= int.MaxValue ? (int)number : int.MaxValue;

    private static Preallocation ParsePreallocation(string value) => value switch
    {
        "off" => Preallocation.Off,
        "metadata" => Preallocation.Metadata,
        "falloc" => Preallocation.Falloc,
        "full" => Preallocation.Full,
        _ => throw new DriverOptionException($"Parameter 'preallocation' does not accept value '{value}'"),
    };

    private static Qcow2CompressionType ParseCompressionType(string value) => value switch
    {
        "zlib" => Qcow2CompressionType.Zlib,
        "zstd" => Qcow2CompressionType.Zstd,
        _ => throw new DriverOptionException($"Parameter 'compression-type' does not accept value '{value}'"),
    };
}
