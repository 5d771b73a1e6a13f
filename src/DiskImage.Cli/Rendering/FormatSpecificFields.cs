using System.Globalization;
using DiskImage.Crypto;
using DiskImage.Formats;
using DiskImage.Formats.Iso9660;
using DiskImage.Formats.Ova;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Vmdk;

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
        IsoSpecificInfo iso => Iso(iso),
        VmdkSpecificInfo vmdk => Vmdk(vmdk),
        OvaSpecificInfo ova => Ova(ova),
        DiskImage.Formats.Luks.LuksSpecificInfo luks => Encryption(luks.Encryption, withFormat: false),
        _ => [],
    };

    private static InfoFields Qcow2(Qcow2SpecificInfo info) => new()
    {
        { "compat", info.Compat },
        { "compression-type", info.CompressionType },
        { "lazy-refcounts", info.LazyRefcounts },
        {
            "bitmaps", info.Bitmaps?.Select(b => new InfoFields
            {
                { "flags", b.Flags },
                { "name", b.Name },
                { "granularity", b.Granularity },
            }).ToList()
        },
        { "refcount-bits", info.RefcountBits },
        { "encrypt", info.Encrypt is { } encrypt ? Encryption(encrypt) : null },
        { "data-file", info.DataFile },
        { "data-file-raw", info.DataFileRaw },
        { "corrupt", info.Corrupt },
        { "extended-l2", info.ExtendedL2 },
    };

    /// <summary>qcow2's <c>encrypt</c> object, or (<paramref name="withFormat"/> false) a luks image's own data, which has no <c>format</c>.</summary>
    private static InfoFields Encryption(EncryptionInfo info, bool withFormat = true) => new()
    {
        { "ivgen-alg", info.IvgenAlg },
        { "hash-alg", info.HashAlg },
        { "cipher-alg", info.CipherAlg },
        { "uuid", info.Uuid },
        { "ivgen-hash-alg", info.IvgenHashAlg },
        { "format", withFormat ? info.Format : null },
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

    private static InfoFields Vmdk(VmdkSpecificInfo info) => new()
    {
        { "cid", (long)info.Cid },
        { "parent-cid", (long)info.ParentCid },
        { "create-type", info.CreateType },
        {
            "extents", info.Extents.Select(e => new InfoFields
            {
                { "compressed", e.Compressed },
                { "virtual-size", e.VirtualSize },
                { "filename", e.Filename },
                { "cluster-size", e.ClusterSize },
                { "format", e.Format },
            }).ToList()
        },
    };

    private static InfoFields Ova(OvaSpecificInfo info) => new()
    {
        { "descriptor", info.Descriptor },
        { "selected-disk", info.SelectedDisk },
        {
            "disks", info.Disks.Select(d => new InfoFields
            {
                { "disk-id", d.DiskId },
                { "file", d.File },
                { "format", d.Format },
                { "capacity", d.Capacity },
            }).ToList()
        },
    };

    private static InfoFields Iso(IsoSpecificInfo info) => new()
    {
        { "volume-id", info.VolumeId },
        { "system-id", info.SystemId },
        { "publisher-id", info.PublisherId },
        { "application-id", info.ApplicationId },
        { "creation-time", info.CreationTime?.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture) },
        { "volume-size", info.VolumeSize },
        { "joliet", info.Joliet },
        { "rock-ridge", info.RockRidge },
        { "system-area", info.SystemArea },
        {
            // No boot catalog: no entry at all, rather than an empty "boot entries:" heading.
            "boot-entries", info.BootEntries.Count == 0 ? null : info.BootEntries.Select(e => new InfoFields
            {
                { "platform", e.PlatformName },
                { "bootable", e.Bootable },
                { "emulation", e.EmulationName },
                { "load-segment", (int)e.LoadSegment },
                { "sector-count", (int)e.SectorCount },
                { "lba", (long)e.Lba },
            }).ToList()
        },
    };
}
