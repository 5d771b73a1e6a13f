using System.Buffers.Binary;
using System.Text;
using DiskImage.Formats.Iso9660;

namespace DiskImage.Tests.Formats.Iso9660;

public class BothEndianTests
{
    [Fact]
    public void Agreeing_halves_read_back()
    {
        var field = new byte[8];
        BothEndian.WriteUInt32(field, 0x12345678);
        Assert.Equal(new byte[] { 0x78, 0x56, 0x34, 0x12, 0x12, 0x34, 0x56, 0x78 }, field);
        Assert.Equal(0x12345678u, BothEndian.ReadUInt32(field, "x", 0));
    }

    [Fact]
    public void Disagreeing_halves_are_refused()
    {
        var field = new byte[] { 1, 0, 0, 0, 0, 0, 0, 2 };
        var error = Assert.Throws<InvalidImageException>(() => BothEndian.ReadUInt32(field, "extent location", 100));
        Assert.Equal(100, error.FileOffset);
        Assert.Throws<InvalidImageException>(() => BothEndian.ReadUInt16(new byte[] { 1, 0, 0, 2 }, "block size", 0));
    }

    [Fact]
    public void Directory_record_with_mismatched_data_length_is_refused()
    {
        var record = new byte[34];
        record[0] = 34;
        BothEndian.WriteUInt32(record.AsSpan(2), 20);
        BothEndian.WriteUInt32(record.AsSpan(10), 2048);
        record[14] ^= 0xFF;
        record[32] = 1;
        Assert.Throws<InvalidImageException>(() => DirectoryRecord.Parse(record, 0));
    }

    [Theory]
    [InlineData(10, 1)]
    [InlineData(34, 0)]
    [InlineData(34, 5)]
    public void Directory_record_with_bad_lengths_is_refused(int length, int nameLength)
    {
        var record = new byte[40];
        record[0] = (byte)length;
        record[32] = (byte)nameLength;
        Assert.Throws<InvalidImageException>(() => DirectoryRecord.Parse(record.AsSpan(0, 34), 0));
    }
}

public class SuspTests
{
    private static byte[] Entry(string signature, params byte[] data)
    {
        var entry = new byte[4 + data.Length];
        entry[0] = (byte)signature[0];
        entry[1] = (byte)signature[1];
        entry[2] = (byte)entry.Length;
        entry[3] = 1;
        data.CopyTo(entry, 4);
        return entry;
    }

    private static byte[] Both(uint value)
    {
        var field = new byte[8];
        BothEndian.WriteUInt32(field, value);
        return field;
    }

    private static RockRidgeAttributes Parse(params byte[][] entries) =>
        RockRidgeParser.Parse(SuspReader.Read(new MemoryDevice(new byte[4096]), entries.SelectMany(e => e).ToArray(), 0, 0), 0);

    [Fact]
    public void Nm_entries_join_across_the_continue_flag()
    {
        var rr = Parse(Entry("NM", [1, .. "long-"u8]), Entry("NM", [0, .. "name"u8]));
        Assert.Equal("long-name", rr.Name);
        Assert.True(rr.Present);
    }

    [Fact]
    public void Sl_components_make_root_parent_and_continued_paths()
    {
        // "/usr/../lib" then a component "ab" split as "a"+"b" with the component continue flag, in a second SL entry.
        byte[] first = [1, 0x08, 0, 0, 3, .. "usr"u8, 0x04, 0, 0, 3, .. "lib"u8];
        byte[] second = [0, 0x01, 1, (byte)'a', 0, 1, (byte)'b'];
        var rr = Parse(Entry("SL", first), Entry("SL", second));
        Assert.Equal("/usr/../lib/ab", rr.SymlinkTarget);
    }

    [Fact]
    public void Tf_reads_short_and_long_forms()
    {
        byte[] shortForm = [0x02, 124, 5, 6, 7, 8, 9, 0];
        Assert.Equal(new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero), Parse(Entry("TF", shortForm)).Modification);

        byte[] longForm = [0x80 | 0x02 | 0x04, .. "2001020304050600"u8, 8, .. "2002020304050600"u8, 0];
        var rr = Parse(Entry("TF", longForm));
        Assert.Equal(new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.FromHours(2)), rr.Modification);
        Assert.Equal(new DateTimeOffset(2002, 2, 3, 4, 5, 6, TimeSpan.Zero), rr.Access);
    }

    [Fact]
    public void Px_reads_mode_and_owner_and_refuses_mismatched_halves()
    {
        byte[] px = [.. Both(0x81ED), .. Both(1), .. Both(1000), .. Both(100)];
        var rr = Parse(Entry("PX", px));
        Assert.Equal(0x81EDu, rr.Mode);
        Assert.Equal(1000u, rr.Uid);
        px[4] ^= 1;
        Assert.Throws<InvalidImageException>(() => Parse(Entry("PX", px)));
    }

    [Fact]
    public void Relocation_entries_are_reported()
    {
        var rr = Parse(Entry("RE"), Entry("CL", Both(40)), Entry("PL", Both(30)), Entry("ZF", [(byte)'p', (byte)'z', 4, 15, .. Both(99999)]));
        Assert.True(rr.Relocated);
        Assert.Equal(40u, rr.ChildLink);
        Assert.Equal(30u, rr.ParentLink);
        Assert.Equal("pz", rr.Compression);
    }

    [Fact]
    public void Continuation_areas_are_followed_and_bounded()
    {
        var image = new byte[3 * 2048];
        var nm = Entry("NM", [0, .. "continued"u8]);
        nm.CopyTo(image, 2048 + 100);
        var ce = Entry("CE", [.. Both(1), .. Both(100), .. Both((uint)nm.Length)]);
        var entries = SuspReader.Read(new MemoryDevice(image), ce, 0, 0);
        Assert.Equal("continued", RockRidgeParser.Parse(entries, 0).Name);

        var outside = Entry("CE", [.. Both(50), .. Both(0), .. Both(10)]);
        Assert.Throws<InvalidImageException>(() => SuspReader.Read(new MemoryDevice(image), outside, 0, 0));

        // A continuation area that continues into itself must end, with an error, not a hang.
        var self = Entry("CE", [.. Both(2), .. Both(0), .. Both(28)]);
        self.CopyTo(image, 2 * 2048);
        Assert.Throws<InvalidImageException>(() => SuspReader.Read(new MemoryDevice(image), self, 0, 0));
    }

    [Fact]
    public void Truncated_or_zero_length_entries_stop_parsing()
    {
        Assert.Empty(SuspReader.Read(new MemoryDevice(new byte[2048]), [(byte)'N', (byte)'M', 0, 1, 0, 0], 0, 0));
        Assert.Empty(SuspReader.Read(new MemoryDevice(new byte[2048]), [(byte)'N', (byte)'M', 200, 1], 0, 0));
    }
}

public class ElToritoCatalogTests
{
    private static byte[] Catalog()
    {
        var catalog = new byte[2048];
        catalog[0] = 1;
        catalog[30] = 0x55;
        catalog[31] = 0xAA;
        BinaryPrimitives.WriteUInt16LittleEndian(catalog.AsSpan(28), (ushort)(0x10000 - ElToritoCatalog.Checksum(catalog.AsSpan(0, 32))));
        catalog[32] = 0x88;
        BinaryPrimitives.WriteUInt16LittleEndian(catalog.AsSpan(32 + 6), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(catalog.AsSpan(32 + 8), 466);
        catalog[64] = 0x91;
        catalog[65] = 0xEF;
        catalog[66] = 1;
        catalog[96] = 0x88;
        BinaryPrimitives.WriteUInt16LittleEndian(catalog.AsSpan(96 + 6), 1728);
        BinaryPrimitives.WriteUInt32LittleEndian(catalog.AsSpan(96 + 8), 34);
        return catalog;
    }

    [Fact]
    public void Default_and_section_entries_are_read()
    {
        var entries = ElToritoCatalog.Parse(Catalog(), 0);
        Assert.Equal(2, entries.Count);
        Assert.Equal(("BIOS", true, ElToritoEmulation.NoEmulation, (ushort)4, 466u), (entries[0].PlatformName, entries[0].Bootable, entries[0].Emulation, entries[0].SectorCount, entries[0].Lba));
        Assert.Equal(("UEFI", (ushort)1728, 34u), (entries[1].PlatformName, entries[1].SectorCount, entries[1].Lba));
    }

    [Fact]
    public void Bad_checksum_or_key_is_refused()
    {
        var catalog = Catalog();
        catalog[4] = 1;
        Assert.Contains("checksum", Assert.Throws<InvalidImageException>(() => ElToritoCatalog.Parse(catalog, 0)).Message, StringComparison.Ordinal);
        catalog = Catalog();
        catalog[31] = 0;
        Assert.Throws<InvalidImageException>(() => ElToritoCatalog.Parse(catalog, 0));
    }

    [Fact]
    public void Boot_info_table_checksum_sums_words_after_byte_64()
    {
        var image = new byte[70];
        image[64] = 1;
        image[68] = 2;
        BootInfoTable.Patch(image, 33);
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(8)));
        Assert.Equal(33u, BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(12)));
        Assert.Equal(70u, BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(16)));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(20)));
    }
}

public class IsoNameTests
{
    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("../../x")]
    [InlineData("a/b")]
    [InlineData("nul\0")]
    public void Unsafe_names_are_refused(string name) =>
        Assert.Throws<InvalidImageException>(() => IsoNames.Check(name, 0));

    [Theory]
    [InlineData("README.TXT;1", false, "README.TXT")]
    [InlineData("EMPTY.;1", false, "EMPTY")]
    [InlineData("DIR", true, "DIR")]
    [InlineData("NOVERSION.", false, "NOVERSION")]
    public void Plain_names_lose_version_and_trailing_dot(string raw, bool isDirectory, string expected) =>
        Assert.Equal(expected, IsoNames.FromIso9660(Encoding.ASCII.GetBytes(raw), isDirectory));

    [Fact]
    public void Joliet_names_are_ucs2_big_endian() =>
        Assert.Equal("Tiếng.txt", IsoNames.FromJoliet(Encoding.BigEndianUnicode.GetBytes("Tiếng.txt;1"), false));

    [Theory]
    [InlineData("%/@", 1)]
    [InlineData("%/C", 2)]
    [InlineData("%/E", 3)]
    [InlineData("   ", 0)]
    public void Joliet_level_comes_from_the_escape_sequence(string escapes, int level) =>
        Assert.Equal(level, VolumeDescriptor.JolietLevelOf(Encoding.ASCII.GetBytes(escapes)));
}
