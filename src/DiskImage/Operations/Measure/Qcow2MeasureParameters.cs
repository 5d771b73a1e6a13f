using System.Globalization;
using System.Numerics;
using DiskImage.Formats;
using DiskImage.Options;

namespace DiskImage.Operations.Measure;

/// <summary>
/// The qcow2 creation options that change a measurement, read from <c>-o</c> with the checks (and the
/// words) qemu-img's measure applies. Other qcow2 creation keys are accepted and do not matter.
/// </summary>
internal sealed record Qcow2MeasureParameters(
    long Size,
    int ClusterSize,
    int Version,
    int RefcountOrder,
    bool ExtendedL2,
    Preallocation Preallocation,
    bool HasBackingFile,
    bool Luks)
{
    private const int MinClusterSize = 512;
    private const int MaxClusterSize = 2 << 20;
    private const int MinExtendedL2ClusterSize = 16384;

    private static readonly HashSet<string> s_otherKeys = new(StringComparer.Ordinal)
    {
        "backing_fmt", "data_file", "data_file_raw", "encryption", "encrypt.key-secret", "encrypt.cipher-alg",
        "encrypt.cipher-mode", "encrypt.ivgen-alg", "encrypt.ivgen-hash-alg", "encrypt.hash-alg", "encrypt.iter-time",
        "lazy_refcounts", "compression_type", "nocow", "extent_size_hint",
    };

    private static readonly HashSet<string> s_boolKeys = new(StringComparer.Ordinal)
    {
        "extended_l2", "lazy_refcounts", "data_file_raw", "encryption", "nocow",
    };

    public static Qcow2MeasureParameters Parse(IReadOnlyDictionary<string, string> options)
    {
        foreach (var (key, value) in options)
        {
            if (key is not ("size" or "cluster_size" or "compat" or "refcount_bits" or "extended_l2" or "preallocation"
                or "backing_file" or "encrypt.format") && !s_otherKeys.Contains(key))
            {
                throw new InvalidOptionException($"Invalid parameter '{key}'");
            }

            if (s_boolKeys.Contains(key))
            {
                KeyValueOptions.ParseBool(key, value);
            }
        }

        var extendedL2 = options.TryGetValue("extended_l2", out var l2Text) && KeyValueOptions.ParseBool("extended_l2", l2Text);
        var clusterSize = ParseClusterSize(options, extendedL2);
        var version = ParseVersion(options);
        var refcountOrder = ParseRefcountOrder(options, version);
        var preallocation = ParsePreallocation(options);
        var size = options.TryGetValue("size", out var sizeText) ? SizeText.Parse(sizeText, "image size") : 0;
        var luks = options.TryGetValue("encrypt.format", out var encryptFormat) && encryptFormat == "luks";
        return new Qcow2MeasureParameters(size, clusterSize, version, refcountOrder, extendedL2, preallocation,
            options.ContainsKey("backing_file"), luks);
    }

    private static int ParseClusterSize(IReadOnlyDictionary<string, string> options, bool extendedL2)
    {
        var clusterSize = 65536L;
        if (options.TryGetValue("cluster_size", out var text))
        {
            if (!SizeText.TryParse(text, out clusterSize) || clusterSize < MinClusterSize || clusterSize > MaxClusterSize
                || !BitOperations.IsPow2(clusterSize))
            {
                throw new InvalidOptionException("Cluster size must be a power of two between 512 and 2048k");
            }
        }

        if (extendedL2 && clusterSize < MinExtendedL2ClusterSize)
        {
            throw new InvalidOptionException(
                $"Extended L2 entries are only supported with cluster sizes of at least {MinExtendedL2ClusterSize} bytes");
        }

        return (int)clusterSize;
    }

    private static int ParseVersion(IReadOnlyDictionary<string, string> options)
    {
        if (!options.TryGetValue("compat", out var compat))
        {
            return 3;
        }

        return compat switch
        {
            "0.10" or "v2" => 2,
            "1.1" or "v3" => 3,
            _ => throw new InvalidOptionException($"Invalid compatibility level: '{compat}'"),
        };
    }

    private static int ParseRefcountOrder(IReadOnlyDictionary<string, string> options, int version)
    {
        if (!options.TryGetValue("refcount_bits", out var text))
        {
            return 4;
        }

        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bits) || bits == 0 || bits > 64
            || !BitOperations.IsPow2(bits))
        {
            throw new InvalidOptionException("Refcount width must be a power of two and may not exceed 64 bits");
        }

        if (version < 3 && bits != 16)
        {
            throw new InvalidOptionException(
                "Different refcount widths than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)");
        }

        return BitOperations.Log2(bits);
    }

    private static Preallocation ParsePreallocation(IReadOnlyDictionary<string, string> options)
    {
        if (!options.TryGetValue("preallocation", out var text))
        {
            return Preallocation.Off;
        }

        return text switch
        {
            "off" => Preallocation.Off,
            "metadata" => Preallocation.Metadata,
            "falloc" => Preallocation.Falloc,
            "full" => Preallocation.Full,
            _ => throw new InvalidOptionException($"invalid parameter value: {text}"),
        };
    }
}
