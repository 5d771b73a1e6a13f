namespace DiskImage.Formats.Vhdx;

/// <summary>Microsoft's VHDX (Hyper-V), read-only: converted from, inspected, mapped and checked as qemu-img does.</summary>
public sealed class VhdxFormat : IImageFormat
{
    public static VhdxFormat Instance { get; } = new();

    private VhdxFormat() { }

    public string Name => "vhdx";

    public int ProbeHeaderSize => 8;

    public bool CanCreate => false;

    public bool SupportsBackingFiles => false;

    public int Probe(ReadOnlySpan<byte> header, long fileLength) => header.Length >= 8 && header[..8].SequenceEqual("vhdxfile"u8) ? 100 : 0;

    public IDiskImage Open(string path, ImageOpenOptions options) => VhdxImage.Open(path, options);

    public void Create(string path, ImageCreateOptions options) =>
        throw new UnsupportedFeatureException("Format driver 'vhdx' does not support image creation");

    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        throw new UnsupportedFeatureException("Format driver 'vhdx' does not support image creation");
}
