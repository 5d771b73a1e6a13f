using DiskImage.Options;

namespace DiskImage.Formats.Vpc;

/// <summary>
/// Virtual PC / Hyper-V VHD, named <c>vpc</c> as in QEMU. Probing sees only dynamic disks (their footer copy
/// at offset 0); a fixed disk probes as raw, as in qemu-img, and is opened with <c>-f vpc</c>.
/// </summary>
public sealed class VpcFormat : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static VpcFormat Instance { get; } = new();

    private VpcFormat() { }

    /// <inheritdoc/>
    public string Name => "vpc";

    /// <inheritdoc/>
    public int ProbeHeaderSize => 8;

    /// <inheritdoc/>
    public bool CanCreate => true;

    /// <inheritdoc/>
    public bool SupportsBackingFiles => false;

    /// <inheritdoc/>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => VpcFooter.HasCookie(header) ? 100 : 0;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options) => VpcImage.Open(path, options);

    /// <inheritdoc/>
    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        VpcCreator.Create(path, options as VpcCreateOptions ?? new VpcCreateOptions { Size = options.Size, BackingFile = options.BackingFile });
    }

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new VpcCreateOptions { Size = size };
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
                        _ => throw new DriverOptionException($"Parameter 'subformat' does not accept value '{value}'"),
                    },
                },
                "force_size" => result with { ForceSize = KeyValueOptions.ParseBool(key, value) },
                _ when FileProtocolCreateOption.Accept(key, value) => result,
                _ => throw new InvalidOptionException($"Invalid parameter '{key}'"),
            };
        }

        return result;
    }
}
