using System.Buffers.Binary;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>
/// Differencing VHD and VHDX, which qemu-img 7.2 cannot create: crafted from images it writes, then read as it
/// reads them. QEMU's vpc driver reads a differencing VHD as a dynamic disk of its own blocks (the parent is
/// never opened); its vhdx driver refuses a differencing VHDX.
/// </summary>
public class DifferencingInteropTests
{
    private const int FooterTypeOffset = 60;
    private const int FooterChecksumOffset = 64;
    private const int DynamicHeaderOffset = 512;
    private const int ParentNameOffset = 64;

    [Fact]
    public void A_differencing_vhd_reads_as_qemu_img_reads_it_without_its_parent()
    {
        using var dir = new TempDirectory();
        var path = dir.File("child.vhd");
        MigrationInterop.QemuImage(path, "vpc", ["-o", "subformat=dynamic"], "37M");
        var length = new FileInfo(path).Length;
        foreach (var at in new[] { 0L, length - 512 })
        {
            MarkDifferencing(path, at);
        }

        // The named parent holds data everywhere: had either tool read through to it, the holes would show it.
        var parent = dir.File("parent.vhd");
        ExternalTool.QemuImg("create", "-q", "-f", "vpc", parent, "37M");
        ExternalTool.QemuIo("-f", "vpc", "-c", "write -P 0x5a 0 36M", parent);
        var name = System.Text.Encoding.BigEndianUnicode.GetBytes("parent.vhd");
        MigrationInterop.Patch(path, DynamicHeaderOffset + ParentNameOffset, name);
        MigrationInterop.AssertReadsAsQemu(dir, path, "vpc");
        var raw = File.ReadAllBytes(dir.File("ours.raw"));
        Assert.Equal(0x11, raw[0]);
        Assert.Equal(0, raw[(2 << 20) + 5]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_differencing_vhdx_is_refused_as_qemu_img_refuses_it(bool withParentLocator)
    {
        using var dir = new TempDirectory();
        var path = dir.File("child.vhdx");
        MigrationInterop.QemuImage(path, "vhdx", [], "37M");
        SetHasParent(path, withParentLocator);

        // Without a locator the metadata is invalid (EINVAL); with one, differencing is unsupported (ENOTSUP).
        MigrationInterop.AssertSameOpenFailure(path);
        MigrationInterop.AssertSameOpenFailure(path, "vhdx", "convert");
    }

    /// <summary>Sets the footer copy at <paramref name="at"/> to disk type 4 (differencing) with a valid checksum.</summary>
    private static void MarkDifferencing(string path, long at)
    {
        var footer = new byte[512];
        using (var file = File.OpenRead(path))
        {
            file.Position = at;
            file.ReadExactly(footer);
        }

        Assert.Equal("conectix"u8.ToArray(), footer[..8]);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(FooterTypeOffset), 4);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(FooterChecksumOffset), 0);
        uint sum = 0;
        foreach (var b in footer)
        {
            sum += b;
        }

        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(FooterChecksumOffset), ~sum);
        MigrationInterop.Patch(path, at, footer);
    }

    /// <summary>
    /// Sets the file parameters' has-parent bit and, when asked, adds a parent locator entry to the metadata
    /// table (the metadata table has no checksum; the region table is not changed).
    /// </summary>
    private static void SetHasParent(string path, bool addLocator)
    {
        var bytes = File.ReadAllBytes(path);
        var regionTable = bytes.AsSpan(192 << 10, 64 << 10);
        var metadataGuid = new Guid("8B7CA206-4790-4B9A-B8FE-575F050F886E");
        var entries = BinaryPrimitives.ReadInt32LittleEndian(regionTable[8..]);
        long metadata = -1;
        for (var i = 0; i < entries; i++)
        {
            var entry = regionTable.Slice(16 + (i * 32), 32);
            if (new Guid(entry[..16]) == metadataGuid)
            {
                metadata = BinaryPrimitives.ReadInt64LittleEndian(entry[16..]);
            }
        }

        Assert.True(metadata > 0);
        var table = bytes.AsSpan((int)metadata, 64 << 10);
        Assert.Equal("metadata"u8.ToArray(), table[..8].ToArray());
        var count = BinaryPrimitives.ReadUInt16LittleEndian(table[10..]);
        var fileParameters = new Guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B");
        var found = false;
        for (var i = 0; i < count; i++)
        {
            var entry = table.Slice(32 + (i * 32), 32);
            if (new Guid(entry[..16]) == fileParameters)
            {
                var item = (int)metadata + BinaryPrimitives.ReadInt32LittleEndian(entry[16..]);
                var bits = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(item + 4));
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(item + 4), bits | 2);
                found = true;
            }
        }

        Assert.True(found);
        if (addLocator)
        {
            var entry = table.Slice(32 + (count * 32), 32);
            new Guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C").TryWriteBytes(entry[..16]);
            BinaryPrimitives.WriteInt32LittleEndian(entry[16..], 128 << 10);
            BinaryPrimitives.WriteInt32LittleEndian(entry[20..], 512);
            BinaryPrimitives.WriteInt32LittleEndian(entry[24..], 4); // is_required
            BinaryPrimitives.WriteUInt16LittleEndian(table[10..], (ushort)(count + 1));
        }

        File.WriteAllBytes(path, bytes);
    }
}
