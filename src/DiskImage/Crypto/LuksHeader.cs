using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;

namespace DiskImage.Crypto;

/// <summary>
/// A LUKS1 header (592 bytes, big-endian). <see cref="Parse"/> validates every field against the area
/// the header lives in before anything uses it, so key material reads stay inside that area and no
/// count from the file drives an allocation or loop unchecked.
/// </summary>
internal sealed partial record LuksHeader
{
    public const int MagicLength = 6;
    public const int NameLength = 32;
    public const int DigestLength = 20;
    public const int UuidLength = 40;
    public const int KeySlotCount = 8;
    public const int Size = 592;

    /// <summary>QEMU's (and cryptsetup's) stripe count; QEMU refuses any other.</summary>
    public const uint Stripes = 4000;

    /// <summary>Key material never starts inside the first 4 KiB, which the header owns.</summary>
    public const uint HeaderSectors = 4096 / SectorCipher.SectorSize;

    /// <summary>Refused above this: a crafted count would make unlocking run for hours.</summary>
    public const uint MaxIterations = 1u << 28;

    private static ReadOnlySpan<byte> MagicBytes => [0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE];

    public required string CipherName { get; init; }
    public required string CipherMode { get; init; }
    public required string HashSpec { get; init; }

    /// <summary>Data start in sectors. Recorded only: qcow2 ignores it (data lives in clusters).</summary>
    public uint PayloadOffsetSectors { get; init; }

    public required uint KeyBytes { get; init; }
    public required byte[] MasterKeyDigest { get; init; }
    public required byte[] MasterKeyDigestSalt { get; init; }
    public required uint MasterKeyDigestIterations { get; init; }
    public required string Uuid { get; init; }
    public required ImmutableArray<LuksKeySlot> KeySlots { get; init; }

    /// <summary>The cipher the header names, refused if unsupported.</summary>
    public LuksCipherSpec CipherSpec => LuksCipherSpec.FromHeader(CipherName, CipherMode, KeyBytes);

    /// <summary>The hash for PBKDF2 and the anti-forensic splitter.</summary>
    public System.Security.Cryptography.HashAlgorithmName Hash => LuksHash.Parse(HashSpec);

    /// <summary>Bytes of split key material in each slot.</summary>
    public int KeyMaterialLength => checked((int)(KeyBytes * Stripes));

    /// <summary>Parses and validates a header read from the start of a LUKS area of <paramref name="areaLength"/> bytes.</summary>
    public static LuksHeader Parse(ReadOnlySpan<byte> data, long areaLength)
    {
        if (data.Length < Size || areaLength < Size)
        {
            throw new InvalidImageException("LUKS header is truncated");
        }

        if (!data[..MagicLength].SequenceEqual(MagicBytes))
        {
            throw new InvalidImageException("Volume is not in LUKS format");
        }

        var version = BinaryPrimitives.ReadUInt16BigEndian(data[FieldOffsets.Version..]);
        if (version != 1)
        {
            throw new UnsupportedFeatureException($"LUKS version {version} is not supported");
        }

        var keyBytes = BinaryPrimitives.ReadUInt32BigEndian(data[FieldOffsets.KeyBytes..]);
        var header = new LuksHeader
        {
            CipherName = ReadName(data.Slice(FieldOffsets.CipherName, NameLength), "cipher name"),
            CipherMode = ReadName(data.Slice(FieldOffsets.CipherMode, NameLength), "cipher mode"),
            HashSpec = ReadName(data.Slice(FieldOffsets.HashSpec, NameLength), "hash spec"),
            PayloadOffsetSectors = BinaryPrimitives.ReadUInt32BigEndian(data[FieldOffsets.PayloadOffset..]),
            KeyBytes = keyBytes,
            MasterKeyDigest = data.Slice(FieldOffsets.MasterKeyDigest, DigestLength).ToArray(),
            MasterKeyDigestSalt = data.Slice(FieldOffsets.MasterKeyDigestSalt, LuksKeySlot.SaltLength).ToArray(),
            MasterKeyDigestIterations = BinaryPrimitives.ReadUInt32BigEndian(data[FieldOffsets.MasterKeyDigestIterations..]),
            Uuid = ReadName(data.Slice(FieldOffsets.Uuid, UuidLength), "UUID"),
            KeySlots = ReadKeySlots(data),
        };
        header.Validate(areaLength);
        return header;
    }

    /// <summary>Writes the 592-byte header.</summary>
    public void WriteTo(Span<byte> data)
    {
        data[..Size].Clear();
        MagicBytes.CopyTo(data);
        BinaryPrimitives.WriteUInt16BigEndian(data[FieldOffsets.Version..], 1);
        WriteName(data.Slice(FieldOffsets.CipherName, NameLength), CipherName);
        WriteName(data.Slice(FieldOffsets.CipherMode, NameLength), CipherMode);
        WriteName(data.Slice(FieldOffsets.HashSpec, NameLength), HashSpec);
        BinaryPrimitives.WriteUInt32BigEndian(data[FieldOffsets.PayloadOffset..], PayloadOffsetSectors);
        BinaryPrimitives.WriteUInt32BigEndian(data[FieldOffsets.KeyBytes..], KeyBytes);
        MasterKeyDigest.CopyTo(data[FieldOffsets.MasterKeyDigest..]);
        MasterKeyDigestSalt.CopyTo(data[FieldOffsets.MasterKeyDigestSalt..]);
        BinaryPrimitives.WriteUInt32BigEndian(data[FieldOffsets.MasterKeyDigestIterations..], MasterKeyDigestIterations);
        WriteName(data.Slice(FieldOffsets.Uuid, UuidLength), Uuid);
        for (var i = 0; i < KeySlotCount; i++)
        {
            var slot = KeySlots[i];
            var record = data.Slice(FieldOffsets.KeySlots + i * KeySlotOffsets.Size, KeySlotOffsets.Size);
            BinaryPrimitives.WriteUInt32BigEndian(record[KeySlotOffsets.State..], slot.Active ? LuksKeySlot.ActiveMarker : LuksKeySlot.InactiveMarker);
            BinaryPrimitives.WriteUInt32BigEndian(record[KeySlotOffsets.Iterations..], slot.Iterations);
            slot.Salt.CopyTo(record[KeySlotOffsets.Salt..]);
            BinaryPrimitives.WriteUInt32BigEndian(record[KeySlotOffsets.KeyMaterialOffset..], slot.KeyMaterialOffsetSectors);
            BinaryPrimitives.WriteUInt32BigEndian(record[KeySlotOffsets.Stripes..], slot.Stripes);
        }
    }

    /// <summary>The header as a new 592-byte array.</summary>
    public byte[] ToArray()
    {
        var data = new byte[Size];
        WriteTo(data);
        return data;
    }

    /// <summary>A copy with one slot replaced.</summary>
    public LuksHeader WithSlot(int index, LuksKeySlot slot) => this with { KeySlots = KeySlots.SetItem(index, slot) };

    private void Validate(long areaLength)
    {
        // Cipher and hash first: they decide the key length every later check relies on.
        _ = CipherSpec;
        _ = Hash;
        if (MasterKeyDigestIterations == 0 || MasterKeyDigestIterations > MaxIterations)
        {
            throw new InvalidImageException($"LUKS master key digest iteration count {MasterKeyDigestIterations} is invalid");
        }

        var materialLength = (long)KeyBytes * Stripes;
        for (var i = 0; i < KeySlotCount; i++)
        {
            var slot = KeySlots[i];
            if (slot.Stripes != Stripes)
            {
                throw new InvalidImageException($"LUKS key slot {i} is corrupted (stripes {slot.Stripes} != {Stripes})");
            }

            if (slot.KeyMaterialOffsetSectors < HeaderSectors)
            {
                throw new InvalidImageException($"LUKS key slot {i} is corrupted (key material offset {slot.KeyMaterialOffsetSectors} overlaps the header)");
            }

            var start = (long)slot.KeyMaterialOffsetSectors * SectorCipher.SectorSize;
            if (start + materialLength > areaLength)
            {
                throw new InvalidImageException($"LUKS key slot {i} is corrupted (key material at {start} + {materialLength} lies outside the {areaLength}-byte LUKS area)");
            }

            if (slot.Active && (slot.Iterations == 0 || slot.Iterations > MaxIterations))
            {
                throw new InvalidImageException($"LUKS key slot {i} iteration count {slot.Iterations} is invalid");
            }

            for (var j = 0; j < i; j++)
            {
                var otherStart = (long)KeySlots[j].KeyMaterialOffsetSectors * SectorCipher.SectorSize;
                if (start < otherStart + materialLength && otherStart < start + materialLength)
                {
                    throw new InvalidImageException($"LUKS key slots {j} and {i} have overlapping key material");
                }
            }
        }
    }

    private static ImmutableArray<LuksKeySlot> ReadKeySlots(ReadOnlySpan<byte> data)
    {
        var slots = ImmutableArray.CreateBuilder<LuksKeySlot>(KeySlotCount);
        for (var i = 0; i < KeySlotCount; i++)
        {
            var record = data.Slice(FieldOffsets.KeySlots + i * KeySlotOffsets.Size, KeySlotOffsets.Size);
            var state = BinaryPrimitives.ReadUInt32BigEndian(record[KeySlotOffsets.State..]);
            if (state is not (LuksKeySlot.ActiveMarker or LuksKeySlot.InactiveMarker))
            {
                throw new InvalidImageException($"LUKS key slot {i} state 0x{state:x8} is invalid");
            }

            slots.Add(new LuksKeySlot
            {
                Active = state == LuksKeySlot.ActiveMarker,
                Iterations = BinaryPrimitives.ReadUInt32BigEndian(record[KeySlotOffsets.Iterations..]),
                Salt = record.Slice(KeySlotOffsets.Salt, LuksKeySlot.SaltLength).ToArray(),
                KeyMaterialOffsetSectors = BinaryPrimitives.ReadUInt32BigEndian(record[KeySlotOffsets.KeyMaterialOffset..]),
                Stripes = BinaryPrimitives.ReadUInt32BigEndian(record[KeySlotOffsets.Stripes..]),
            });
        }

        return slots.MoveToImmutable();
    }

    private static string ReadName(ReadOnlySpan<byte> field, string what)
    {
        var end = field.IndexOf((byte)0);
        if (end < 0)
        {
            throw new InvalidImageException($"LUKS header {what} is not NUL terminated");
        }

        return Encoding.ASCII.GetString(field[..end]);
    }

    private static void WriteName(Span<byte> field, string value)
    {
        if (value.Length >= field.Length || Encoding.ASCII.GetByteCount(value) != value.Length)
        {
            throw new ArgumentException($"'{value}' does not fit a {field.Length}-byte LUKS header field.", nameof(value));
        }

        Encoding.ASCII.GetBytes(value, field);
    }
}
