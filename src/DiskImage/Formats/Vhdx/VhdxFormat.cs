using DiskImage.Options;

namespace DiskImage.Formats.Vhdx;

/// <summary>Microsoft's VHDX (Hyper-V): dynamic and fixed disks, read and written as qemu-img reads and writes them.</summary>
public sealed class VhdxFormat : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static VhdxFormat Instance { get; } = new();

    private VhdxFormat() { }

    /// <inheritdoc/>
    public string Name => "vhdx";

    /// <inheritdoc/>
    public int ProbeHeaderSize => 8;

    /// <inheritdoc/>
    public bool CanCreate => true;

    /// <inheritdoc/>
    public bool SupportsBackingFiles => false;

    /// <inheritdoc/>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => header.Length >= 8 && header[..8].SequenceEqual("vhdxfile"u8) ? 100 : 0;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options) => VhdxImage.Open(path, options);

    /// <inheritdoc/>
    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        VhdxCreator.Create(path, options as VhdxCreateOptions ?? new VhdxCreateOptions { Size = options.Size, BackingFile = options.BackingFile });
    }

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new VhdxCreateOptions { Size = size };
        foreach (var (key, value) in options)
        {
            result = key switch
            {
                "size" => result with { Size = SizeText.ParseOption(key, value) },
                "subformat" => result with
                {
                    Fixed = value switch
                    {
                        "dynamic" => false,
                        "fixed" => true,
                        _ => throw new InvalidOptionException($"Parameter 'subformat' does not accept value '{value}'"),
                    },
                },
                "block_size" => result with { BlockSize = SizeText.Parse(value) },
                "log_size" => result with { LogSize = SizeText.Parse(value) },
                "block_state_zero" => result with { BlockStateZero = KeyValueOptions.ParseBool(key, value) },
                _ when FileProtocolCreateOption.Accept(key, value) => result,
                _ => throw new InvalidOptionException($"Invalid parameter '{key}'"),
            };
        }

        return result;
    }
}
