using DiskImage.Formats;
using DiskImage.Formats.Qcow2;

namespace DiskImage.Cli.Rendering;

/// <summary>
/// The <c>data</c> of qemu-img's <c>format-specific</c> object, per format, in qemu-img's key order.
/// A new format adds one case here; both the JSON and the human form follow from it.
/// </summary>
internal static class FormatSpecificFields
{
    public static InfoFields Describe(FormatSpecificInfo info) => info switch
    {
        Qcow2SpecificInfo qcow2 => Qcow2(qcow2),
        _ => [],
    };

    private static InfoFields Qcow2(Qcow2SpecificInfo info) => new()
    {
        { "compat", info.Compat },
        { "compression-type", info.CompressionType },
        { "lazy-refcounts", info.LazyRefcounts },
        { "refcount-bits", info.RefcountBits },
        { "data-file", info.DataFile },
        { "data-file-raw", info.DataFileRaw },
        { "corrupt", info.Corrupt },
        { "extended-l2", info.ExtendedL2 },
    };
}
