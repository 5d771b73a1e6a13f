using System.Globalization;
using DiskImage.Operations.Create;
using DiskImage.Options;

namespace DiskImage.Cli.Rendering;

/// <summary>
/// qemu-img create's <c>Formatting 'FILE', fmt=... </c> line: the format's options in qemu-img 7.2's
/// order, those with defaults always, the rest only when given. Sizes are shown in bytes.
/// </summary>
internal static class CreateSummary
{
    private sealed record OptionSpec(string Key, string? Default = null, bool IsSize = false, bool IsNumber = false);

    /// <summary>The file protocol's options, which qemu-img lists after a format's own.</summary>
    private static readonly OptionSpec[] s_fileProtocol = [new("nocow"), new("preallocation"), new("extent_size_hint", IsSize: true)];

    private static readonly OptionSpec[] s_raw = [new("size", IsSize: true), new("nocow"), new("preallocation"), new("extent_size_hint", IsSize: true)];

    private static readonly OptionSpec[] s_qcow2 =
    [
        new("cluster_size", "65536", IsSize: true),
        new("extended_l2", "off"),
        new("preallocation"),
        new("compression_type", "zlib"),
        new("size", IsSize: true),
        new("compat"),
        new("backing_file"),
        new("backing_fmt"),
        new("data_file"),
        new("data_file_raw"),
        new("lazy_refcounts", "off"),
        new("refcount_bits", "16", IsNumber: true),
        new("nocow"),
        new("extent_size_hint", IsSize: true),
    ];

    private static readonly OptionSpec[] s_vmdk =
    [
        new("size", IsSize: true),
        new("adapter_type"),
        new("backing_file"),
        new("backing_fmt"),
        new("compat6", "off"),
        new("hwversion", "undefined"),
        new("toolsversion"),
        new("subformat"),
        new("zeroed_grain"),
        .. s_fileProtocol,
    ];

    private static readonly OptionSpec[] s_vpc = [new("size", IsSize: true), new("subformat"), new("force_size"), .. s_fileProtocol];

    private static readonly OptionSpec[] s_vhdx =
    [
        new("size", IsSize: true),
        new("log_size", "1048576", IsSize: true),
        new("block_size", "0", IsSize: true),
        new("subformat"),
        new("block_state_zero"),
        .. s_fileProtocol,
    ];

    private static readonly OptionSpec[] s_luks =
    [
        new("size", IsSize: true), new("key-secret"), new("cipher-alg"), new("cipher-mode"), new("ivgen-alg"), new("ivgen-hash-alg"),
        new("hash-alg"), new("iter-time"), new("preallocation"),
    ];

    private static readonly OptionSpec[] s_qed =
        [new("size", IsSize: true), new("backing_file"), new("backing_fmt"), new("cluster_size", "65536", IsSize: true), new("table_size", IsSize: true), .. s_fileProtocol];

    private static readonly OptionSpec[] s_parallels =
        [new("size", IsSize: true), new("cluster_size", "1048576", IsSize: true), new("nocow"), new("preallocation"), new("extent_size_hint", IsSize: true)];

    private static readonly OptionSpec[] s_vdi = [new("size", IsSize: true), new("static", "off"), .. s_fileProtocol];

    /// <summary>qcow lists its encryption options after the backing file ones, then the file protocol's.</summary>
    private static readonly OptionSpec[] s_qcow =
    [
        new("size", IsSize: true), new("backing_file"), new("backing_fmt"), new("encryption"), new("encrypt.format"),
        new("encrypt.key-secret"), new("nocow"), new("preallocation"), new("extent_size_hint", IsSize: true),
    ];

    public static string Describe(CreatePlan plan, IReadOnlyDictionary<string, string> given)
    {
        var values = new Dictionary<string, string>(given, StringComparer.Ordinal)
        {
            ["size"] = plan.Options.Size?.ToString(CultureInfo.InvariantCulture) ?? "0",
        };
        if (plan.Options.BackingFile is { } backing)
        {
            values["backing_file"] = backing;
        }

        if (plan.Options.BackingFormat is { } backingFormat)
        {
            values["backing_fmt"] = backingFormat;
        }

        var parts = new List<string> { $"fmt={plan.Format.Name}" };
        var specs = plan.Format.Name switch
        {
            "raw" => s_raw,
            "qcow2" => s_qcow2,
            "vmdk" => s_vmdk,
            "vpc" => s_vpc,
            "vdi" => s_vdi,
            "qcow" => s_qcow,
            "qed" => s_qed,
            "parallels" => s_parallels,
            "vhdx" => s_vhdx,
            "luks" => s_luks,
            _ => [.. s_raw, new("backing_file"), new("backing_fmt")],
        };

        // Encryption options come first, in the order of qcow2's option list (as qemu-img prints them).
        parts.AddRange(given.Where(p => specs != s_qcow && p.Key.StartsWith("encrypt", StringComparison.Ordinal))
            .OrderBy(p => EncryptionOptionRank(p.Key))
            .Select(p => $"{p.Key}={p.Value.Replace(",", ",,", StringComparison.Ordinal)}"));
        foreach (var spec in specs)
        {
            if (!values.TryGetValue(spec.Key, out var value))
            {
                value = spec.Default;
            }

            if (value is null)
            {
                continue;
            }

            if (spec.IsSize && SizeText.TryParse(value, out var bytes))
            {
                value = bytes.ToString(CultureInfo.InvariantCulture);
            }
            else if (spec.IsNumber && TryParseNumber(spec.Key, value) is { } number)
            {
                // qemu-img prints a number option as a signed decimal: 0x10 as 16, -1 as -1.
                value = unchecked((long)number).ToString(CultureInfo.InvariantCulture);
            }

            // qemu-img escapes a comma in a value by doubling it (qemu_opts_print); only strings can hold one.
            parts.Add($"{spec.Key}={value.Replace(",", ",,", StringComparison.Ordinal)}");
        }

        return $"Formatting '{plan.Path}', {string.Join(' ', parts)}";
    }

    private static ulong? TryParseNumber(string key, string value)
    {
        try
        {
            return QemuNumber.Parse(key, value);
        }
        catch (InvalidOptionException)
        {
            return null;
        }
    }

    private static readonly string[] s_encryptionOrder =
    [
        "encryption", "encrypt.format", "encrypt.key-secret", "encrypt.cipher-alg", "encrypt.cipher-mode",
        "encrypt.ivgen-alg", "encrypt.ivgen-hash-alg", "encrypt.hash-alg", "encrypt.iter-time",
    ];

    /// <summary>Where an encryption option stands in qcow2's option list; others follow in the order given (OrderBy is stable).</summary>
    private static int EncryptionOptionRank(string key)
    {
        var rank = Array.IndexOf(s_encryptionOrder, key);
        return rank < 0 ? s_encryptionOrder.Length : rank;
    }
}
