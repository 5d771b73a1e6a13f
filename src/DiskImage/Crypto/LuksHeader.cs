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

    /// <summary>
    /// Parses and validates a header read from the start of a LUKS area of <paramref name="areaLength"/> bytes.
    /// QEMU's checks come first, in its order and words; then this library's own bounds (key material inside the
    /// area, iteration counts that unlock in reasonable time), which QEMU does not have.
    /// </summary>
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

        var cipherName = ReadName(data.Slice(FieldOffsets.CipherName, NameLength), "cipher name");
        var cipherMode = ReadName(data.Slice(FieldOffsets.CipherMode, NameLength), "cipher mode");
        var hashSpec = ReadName(data.Slice(FieldOffsets.HashSpec, NameLength), "hash spec");
        var payloadOffset = BinaryPrimitives.ReadUInt32BigEndian(data[FieldOffsets.PayloadOffset..]);
        if (payloadOffset < HeaderSectors)
        {
            throw new InvalidImageException("LUKS payload is overlapping with the header");
        }

        var digestIterations = BinaryPrimitives.ReadUInt32BigEndian(data[FieldOffsets.MasterKeyDigestIterations..]);
        if (digestIterations == 0)
        {
            throw new InvalidImageException("LUKS key iteration count is zero");
        }

        var keyBytes = BinaryPrimitives.ReadUInt32BigEndian(data[FieldOffsets.KeyBytes..]);
        var slots = ReadKeySlots(data, keyBytes, payloadOffset);
        var uuidField = data.Slice(FieldOffsets.Uuid, UuidLength);
        var uuidEnd = uuidField.IndexOf((byte)0);
        var header = new LuksHeader
        {
            CipherName = cipherName,
            CipherMode = cipherMode,
            HashSpec = hashSpec,
            PayloadOffsetSectors = payloadOffset,
            KeyBytes = keyBytes,
            MasterKeyDigest = data.Slice(FieldOffsets.MasterKeyDigest, DigestLength).ToArray(),
            MasterKeyDigestSalt = data.Slice(FieldOffsets.MasterKeyDigestSalt, LuksKeySlot.SaltLength).ToArray(),
            MasterKeyDigestIterations = digestIterations,
            Uuid = Encoding.Latin1.GetString(uuidEnd < 0 ? uuidField : uuidField[..uuidEnd]),
            KeySlots = slots,
        };
        header.Validate(areaLength);
        return header;
    }

    /// <summary>Sectors one key slot's split key takes, rounded up to the header's 4 KiB as QEMU and cryptsetup do.</summary>
    public static long SlotSectors(uint keyBytes, uint stripes)
    {
        // Both below 2^32, so the product fits an unsigned 64-bit number and the result a signed one.
        var sectors = (Math.BigMul(keyBytes, stripes) + SectorCipher.SectorSize - 1) / SectorCipher.SectorSize;
        return (long)((sectors + HeaderSectors - 1) / HeaderSectors * HeaderSectors);
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
        // Cipher and hash next, as QEMU parses them after its structural checks.
        _ = LuksCipherSpec.FromHeader(CipherName, CipherMode, KeyBytes, HashSpec);
        if (MasterKeyDigestIterations > MaxIterations)
        {
            throw new InvalidImageException($"LUKS master key digest iteration count {MasterKeyDigestIterations} is invalid");
        }

        var materialLength = (long)KeyBytes * Stripes;
        for (var i = 0; i < KeySlotCount; i++)
        {
            var slot = KeySlots[i];
            var start = (long)slot.KeyMaterialOffsetSectors * SectorCipher.SectorSize;
            if (start + materialLength > areaLength)
            {
                throw new InvalidImageException($"LUKS key slot {i} is corrupted (key material at {start} + {materialLength} lies outside the {areaLength}-byte LUKS area)");
            }

            if (slot.Active && slot.Iterations > MaxIterations)
            {
                throw new InvalidImageException($"LUKS key slot {i} iteration count {slot.Iterations} is invalid");
            }
        }
    }

    /// <summary>A slot's sectors computed as QEMU computes them for its checks: the key length times stripes in 32 bits.</summary>
    private static uint QemuSlotSectors(uint keyBytes, uint stripes)
    {
        var bytes = unchecked(keyBytes * stripes);
        var sectors = (bytes + (ulong)SectorCipher.SectorSize - 1) / SectorCipher.SectorSize;
        return unchecked((uint)((sectors + HeaderSectors - 1) / HeaderSectors * HeaderSectors));
    }

    /// <summary>The eight key slots, checked in QEMU's order and words (stripes, state, iterations, place, overlaps).</summary>
    private static ImmutableArray<LuksKeySlot> ReadKeySlots(ReadOnlySpan<byte> data, uint keyBytes, uint payloadOffset)
    {
        Span<uint> states = stackalloc uint[KeySlotCount];
        Span<uint> iterations = stackalloc uint[KeySlotCount];
        Span<uint> starts = stackalloc uint[KeySlotCount];
        Span<uint> stripes = stackalloc uint[KeySlotCount];
        for (var i = 0; i < KeySlotCount; i++)
        {
            var record = data.Slice(FieldOffsets.KeySlots + i * KeySlotOffsets.Size, KeySlotOffsets.Size);
            states[i] = BinaryPrimitives.ReadUInt32BigEndian(record[KeySlotOffsets.State..]);
            iterations[i] = BinaryPrimitives.ReadUInt32BigEndian(record[KeySlotOffsets.Iterations..]);
            starts[i] = BinaryPrimitives.ReadUInt32BigEndian(record[KeySlotOffsets.KeyMaterialOffset..]);
            stripes[i] = BinaryPrimitives.ReadUInt32BigEndian(record[KeySlotOffsets.Stripes..]);
        }

        for (var i = 0; i < KeySlotCount; i++)
        {
            if (stripes[i] != Stripes)
            {
                throw new InvalidImageException($"Keyslot {i} is corrupted (stripes {(int)stripes[i]} != {Stripes})");
            }

            if (states[i] is not (LuksKeySlot.ActiveMarker or LuksKeySlot.InactiveMarker))
            {
                throw new InvalidImageException($"Keyslot {i} state (active/disable) is corrupted");
            }

            if (states[i] == LuksKeySlot.ActiveMarker && iterations[i] == 0)
            {
                throw new InvalidImageException($"Keyslot {i} iteration count is zero");
            }

            if (starts[i] < HeaderSectors)
            {
                throw new InvalidImageException($"Keyslot {i} is overlapping with the LUKS header");
            }

            // QEMU's sums are 32-bit and wrap around for a crafted key length; the same wrap keeps its verdicts (and its
            // message) here, and the cipher check that follows refuses any key length that is not an AES one.
            var length = QemuSlotSectors(keyBytes, stripes[i]);
            if (unchecked(starts[i] + length) > payloadOffset)
            {
                throw new InvalidImageException($"Keyslot {i} is overlapping with the encrypted payload");
            }

            for (var j = i + 1; j < KeySlotCount; j++)
            {
                var otherLength = QemuSlotSectors(keyBytes, stripes[j]);
                if (unchecked(starts[i] + length) > starts[j] && unchecked(starts[j] + otherLength) > starts[i])
                {
                    throw new InvalidImageException($"Keyslots {i} and {j} are overlapping in the header");
                }
            }
        }

        var slots = ImmutableArray.CreateBuilder<LuksKeySlot>(KeySlotCount);
        for (var i = 0; i < KeySlotCount; i++)
        {
            var record = data.Slice(FieldOffsets.KeySlots + i * KeySlotOffsets.Size, KeySlotOffsets.Size);
            slots.Add(new LuksKeySlot
            {
                Active = states[i] == LuksKeySlot.ActiveMarker,
                Iterations = iterations[i],
                Salt = record.Slice(KeySlotOffsets.Salt, LuksKeySlot.SaltLength).ToArray(),
                KeyMaterialOffsetSectors = starts[i],
                Stripes = stripes[i],
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
