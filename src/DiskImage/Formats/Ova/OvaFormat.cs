using System.Globalization;
using System.Text;
using DiskImage.Formats.Vmdk;
using DiskImage.IO;

namespace DiskImage.Formats.Ova;

/// <summary>
/// OVA archives (a tar holding an OVF descriptor and its disks), read-only. Opening one opens a disk
/// the OVF lists (the first, or <c>disk=N</c>) straight from the archive: nothing is unpacked.
/// </summary>
public sealed class OvaFormat : IImageFormat
{
    /// <summary>An OVF descriptor larger than this is refused.</summary>
    private const int MaxDescriptorSize = 16 << 20;

    /// <summary>The one instance; formats hold no state.</summary>
    public static OvaFormat Instance { get; } = new();

    private OvaFormat() { }

    /// <inheritdoc/>
    public string Name => "ova";

    /// <inheritdoc/>
    public int ProbeHeaderSize => 512;

    /// <inheritdoc/>
    public bool CanCreate => false;

    /// <summary>A tar whose first entry is the OVF descriptor, as the OVF specification requires.</summary>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) =>
        TarIndex.LooksLikeTar(header) && TarIndex.FirstName(header).EndsWith(".ovf", StringComparison.OrdinalIgnoreCase) ? 100 : 0;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.ReadOnly)
        {
            throw new UnsupportedFeatureException("OVA archives are read-only");
        }

        var file = Storage.Open(path, writable: false, options.LockFor(path, formatOwnsFile: true));
        try
        {
            var entries = TarIndex.Read(file);
            var descriptor = entries.FirstOrDefault(e => e.Name.EndsWith(".ovf", StringComparison.OrdinalIgnoreCase))
                ?? throw new InvalidImageException("The OVA holds no OVF descriptor");
            if (descriptor.Size > MaxDescriptorSize)
            {
                throw new InvalidImageException("The OVF descriptor is too large");
            }

            var xml = new byte[descriptor.Size];
            file.Read(descriptor.DataOffset, xml);
            var disks = OvfDescriptor.ReadDisks(new MemoryStream(xml, writable: false));
            if (disks.Count == 0)
            {
                throw new InvalidImageException("The OVF descriptor lists no disks");
            }

            var index = SelectedDisk(options, disks.Count);
            var disk = disks[index];
            var entry = entries.FirstOrDefault(e => e.Name == disk.File || e.Name == "./" + disk.File)
                ?? throw new InvalidImageException($"Disk file '{disk.File}' is not in the OVA");
            if (!disk.Format.Contains("vmdk", StringComparison.OrdinalIgnoreCase) && !disk.File.EndsWith(".vmdk", StringComparison.OrdinalIgnoreCase))
            {
                throw new UnsupportedFeatureException($"OVA disk format '{disk.Format}' is not supported");
            }

            var window = VmdkFile.Window(file, disk.File, entry.DataOffset, entry.Size);
            var inner = VmdkImage.Open(path, window, options with { Untrusted = true });
            var info = new OvaSpecificInfo { Descriptor = descriptor.Name, SelectedDisk = index, Disks = disks };
            return new OvaImage(path, file, inner, info);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static int SelectedDisk(ImageOpenOptions options, int count)
    {
        if (options.FormatOptions.TryGetValue("disk", out var text))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index >= count)
            {
                throw new InvalidOptionException($"Parameter 'disk' must be a disk index between 0 and {count - 1}");
            }

            return index;
        }

        return 0;
    }

    /// <inheritdoc/>
    public void Create(string path, ImageCreateOptions options) =>
        throw new UnsupportedFeatureException("Format driver 'ova' does not support image creation");

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options) =>
        throw new UnsupportedFeatureException("Format driver 'ova' does not support image creation");
}
