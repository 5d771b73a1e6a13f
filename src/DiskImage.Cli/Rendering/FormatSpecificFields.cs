using DiskImage.Crypto;
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
        { "encrypt", info.Encrypt is { } encrypt ? Encryption(encrypt) : null },
        { "data-file", info.DataFile },
        { "data-file-raw", info.DataFileRaw },
        { "corrupt", info.Corrupt },
        { "extended-l2", info.ExtendedL2 },
    };

    private static InfoFields Encryption(EncryptionInfo info) => new()
    {
        { "ivgen-alg", info.IvgenAlg },
        { "ivgen-hash-alg", info.IvgenHashAlg },
        { "hash-alg", info.HashAlg },
        { "cipher-alg", info.CipherAlg },
        { "uuid", info.Uuid },
        { "format", info.Format },
        { "cipher-mode", info.CipherMode },
        { "slots", info.Slots.Count == 0 ? null : info.Slots.Select(slot => new InfoFields
        {
            { "active", slot.Active },
            { "iters", slot.Iters },
            { "key-offset", slot.KeyOffset },
            { "stripes", slot.Stripes },
        }).ToList() },
        { "payload-offset", info.PayloadOffset },
        { "master-key-iters", info.MasterKeyIters },
    };
}
