using System.Buffers.Binary;
using System.Security.Cryptography;
using DiskImage.Crypto;

namespace DiskImage.Tests.Crypto;

public class LuksHeaderTests
{
    private const int AreaLength = 2068480;

    /// <summary>A header laid out like qemu-img 7.2's aes-256 xts-plain64 default (key slots every 504 sectors from 8).</summary>
    private static LuksHeader Sample() => new()
    {
        CipherName = "aes",
        CipherMode = "xts-plain64",
        HashSpec = "sha256",
        PayloadOffsetSectors = 4040,
        KeyBytes = 64,
        MasterKeyDigest = RandomNumberGenerator.GetBytes(20),
        MasterKeyDigestSalt = RandomNumberGenerator.GetBytes(32),
        MasterKeyDigestIterations = 8362,
        Uuid = "b53f5c39-2c5e-4a24-8ce8-35d85e07e65d",
        KeySlots = [.. Enumerable.Range(0, 8).Select(i => new LuksKeySlot
        {
            Active = i == 0,
            Iterations = i == 0 ? 33711u : 0,
            Salt = i == 0 ? RandomNumberGenerator.GetBytes(32) : new byte[32],
            KeyMaterialOffsetSectors = 8 + (uint)i * 504,
            Stripes = 4000,
        })],
    };

    [Fact]
    public void Round_trips_through_its_592_byte_form()
    {
        var header = Sample();
        var bytes = header.ToArray();
        Assert.Equal(592, bytes.Length);

        var parsed = LuksHeader.Parse(bytes, AreaLength);

        Assert.Equal(bytes, parsed.ToArray());
        Assert.Equal(header.Uuid, parsed.Uuid);
        Assert.Equal(header.MasterKeyDigest, parsed.MasterKeyDigest);
        Assert.Equal(33711u, parsed.KeySlots[0].Iterations);
        Assert.False(parsed.KeySlots[7].Active);
    }

    [Fact]
    public void Fields_sit_where_qemu_img_puts_them()
    {
        var bytes = Sample().ToArray();

        // Offsets read off a hexdump of a qemu-img 7.2 image (LUKS\xba\xbe, version 1, "aes", ...).
        Assert.Equal("4c554b53babe0001616573", Convert.ToHexStringLower(bytes.AsSpan(0, 11)));
        Assert.Equal("xts-plain64"u8.ToArray(), bytes.AsSpan(0x28, 11).ToArray());
        Assert.Equal("sha256"u8.ToArray(), bytes.AsSpan(0x48, 6).ToArray());
        Assert.Equal(4040u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(0x68)));
        Assert.Equal(64u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(0x6c)));
        Assert.Equal(8362u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(0xa4)));
        Assert.Equal(0x00AC71F3u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(0xd0)));
        Assert.Equal(0x0000DEADu, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(0x100)));
        Assert.Equal(0x200u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(0x128)));
        Assert.Equal(4000u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(0x24c)));
    }

    public static TheoryData<string, int, uint> HostileFields => new()
    {
        { "magic", 0, 0x4c554b54 },
        { "key bytes huge", 0x6c, 0xFFFFFFF0 },
        { "key bytes odd", 0x6c, 63 },
        { "digest iterations zero", 0xa4, 0 },
        { "digest iterations huge", 0xa4, 0xFFFFFFFF },
        { "slot state", 0xd0, 0x12345678 },
        { "slot iterations huge", 0xd4, 0xFFFFFFFF },
        { "slot 0 stripes huge", 0xd0 + 44, 0x7FFFFFFF },
        { "slot 3 stripes zero", 0xd0 + 3 * 48 + 44, 0 },
        { "slot 1 key offset outside the area", 0xd0 + 48 + 40, 0x10000000 },
        { "slot 5 key offset in the header", 0xd0 + 5 * 48 + 40, 2 },
        { "slot 2 overlaps slot 1", 0xd0 + 2 * 48 + 40, 8 + 504 + 10 },
    };

    [Theory]
    [MemberData(nameof(HostileFields))]
    public void Hostile_fields_are_refused_as_invalid_images(string what, int offset, uint value)
    {
        var bytes = Sample().ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(offset), value);

        var e = Assert.ThrowsAny<DiskImageException>(() => LuksHeader.Parse(bytes, AreaLength));
        Assert.True(e is InvalidImageException or UnsupportedFeatureException, $"{what}: {e.GetType().Name}");
    }

    [Fact]
    public void Unterminated_strings_and_short_areas_are_refused()
    {
        var bytes = Sample().ToArray();
        bytes.AsSpan(8, 32).Fill((byte)'a');
        Assert.Throws<InvalidImageException>(() => LuksHeader.Parse(bytes, AreaLength));
        Assert.Throws<InvalidImageException>(() => LuksHeader.Parse(Sample().ToArray(), 100_000));
        Assert.Throws<InvalidImageException>(() => LuksHeader.Parse(new byte[100], AreaLength));
    }

    [Fact]
    public void Random_bytes_after_the_magic_never_escape_as_other_exceptions()
    {
        var random = new Random(1234);
        var bytes = Sample().ToArray();
        int parsed = 0, refused = 0;
        for (var i = 0; i < 2000; i++)
        {
            var mutated = bytes.ToArray();
            for (var flips = 0; flips < 4; flips++)
            {
                mutated[random.Next(6, mutated.Length)] = (byte)random.Next(256);
            }

            try
            {
                LuksHeader.Parse(mutated, AreaLength);
                parsed++;
            }
            catch (DiskImageException)
            {
                refused++;
            }
        }

        // Anything else (IndexOutOfRange, Overflow, OutOfMemory) would have failed the test above.
        Assert.True(parsed > 0 && refused > 0, $"parsed {parsed}, refused {refused}");
    }
}
