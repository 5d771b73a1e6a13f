using DiskImage.IO;

namespace DiskImage.Formats.Raw;

/// <summary>
/// When raw was only guessed, a guest could write another format's header into sector 0 and have the
/// next probe open the file as that format (CVE-2008-2004). Like QEMU, refuse such writes.
/// </summary>
internal static class GuessedRawGuard
{
    private const int SectorSize = 512;

    public static void Check(ImageOpenOptions options, long offset, ReadOnlySpan<byte> data, IStorage file)
    {
        if (!options.FormatWasProbed || offset >= SectorSize || data.IsEmpty)
        {
            return;
        }

        var registry = options.Registry ?? ImageFormatRegistry.Default;
        var size = Math.Max(SectorSize, registry.ProbeHeaderSize);
        var header = new byte[(int)Math.Min(size, Math.Max(file.Length, offset + data.Length))];
        file.Read(0, header);
        var count = (int)Math.Min(data.Length, header.Length - offset);
        data[..count].CopyTo(header.AsSpan((int)offset));
        if (registry.Probe(header, Math.Max(file.Length, header.Length)) != RawFormat.Instance)
        {
            // QEMU's raw driver fails such a write with EPERM, which is all qemu-io and qemu-img commit report.
            throw new ErrnoException(ErrnoException.EPERM, ErrnoException.Text(ErrnoException.EPERM));
        }
    }
}
