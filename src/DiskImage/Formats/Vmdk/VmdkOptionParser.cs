using DiskImage.Options;

namespace DiskImage.Formats.Vmdk;

/// <summary>Turns qemu-img's vmdk <c>-o</c> keys into <see cref="VmdkCreateOptions"/>, in qemu-img's words.</summary>
internal static class VmdkOptionParser
{
    private static readonly string[] AdapterTypes = ["ide", "buslogic", "lsilogic", "legacyESX"];

    public static VmdkCreateOptions Parse(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new VmdkCreateOptions { Size = size };
        foreach (var (key, value) in options)
        {
            result = key switch
            {
                "size" when size is not null => throw new InvalidOptionException("The image size must be specified only once"),
                "size" => result with { Size = SizeText.ParseOption(key, value) },
                "subformat" => result with { Subformat = ParseSubformat(value) },
                "adapter_type" => result with { AdapterType = AdapterTypes.Contains(value, StringComparer.Ordinal) ? value : throw Invalid(value) },
                "hwversion" => result with { HardwareVersion = value == "undefined" ? null : value },
                "toolsversion" => result with { ToolsVersion = value },
                "compat6" => result with { Compat6 = KeyValueOptions.ParseBool(key, value) },
                "zeroed_grain" => result with { ZeroedGrain = KeyValueOptions.ParseBool(key, value) },
                "backing_file" => result with { BackingFile = value },
                "backing_fmt" => result with { BackingFormat = value },
                _ when FileProtocolCreateOption.Accept(key, value) => result,
                _ => throw new InvalidOptionException($"Invalid parameter '{key}'"),
            };
        }

        return result;
    }

    /// <summary>Options given as the common base record get vmdk's defaults.</summary>
    public static VmdkCreateOptions FromCommon(ImageCreateOptions options) => new()
    {
        Size = options.Size,
        BackingFile = options.BackingFile,
        BackingFormat = options.BackingFormat,
        SkipBackingCheck = options.SkipBackingCheck,
        Registry = options.Registry,
        SecretProvider = options.SecretProvider,
    };

    public static string SubformatName(VmdkSubformat subformat) => subformat switch
    {
        VmdkSubformat.MonolithicFlat => "monolithicFlat",
        VmdkSubformat.TwoGbMaxExtentSparse => "twoGbMaxExtentSparse",
        VmdkSubformat.TwoGbMaxExtentFlat => "twoGbMaxExtentFlat",
        VmdkSubformat.StreamOptimized => "streamOptimized",
        _ => "monolithicSparse",
    };

    private static VmdkSubformat ParseSubformat(string value) => value switch
    {
        "monolithicSparse" => VmdkSubformat.MonolithicSparse,
        "monolithicFlat" => VmdkSubformat.MonolithicFlat,
        "twoGbMaxExtentSparse" => VmdkSubformat.TwoGbMaxExtentSparse,
        "twoGbMaxExtentFlat" => VmdkSubformat.TwoGbMaxExtentFlat,
        "streamOptimized" => VmdkSubformat.StreamOptimized,
        _ => throw Invalid(value),
    };

    private static DriverOptionException Invalid(string value) => new($"invalid parameter value: {value}");
}
