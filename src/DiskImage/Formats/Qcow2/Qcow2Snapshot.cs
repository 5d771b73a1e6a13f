using System.Buffers.Binary;
using System.Text;
using DiskImage.IO;

namespace DiskImage.Formats.Qcow2;

/// <summary>One entry of the internal snapshot table.</summary>
internal sealed record Qcow2Snapshot
{
    public required long L1TableOffset { get; init; }
    /// <summary>Entries as stored; may be out of range in a damaged table (checked where the L1 is used).</summary>
    public required long L1Size { get; init; }
    public required string Id { get; init; }
    public required string Name { get; init; }
    public uint DateSeconds { get; init; }
    public uint DateNanoseconds { get; init; }
    public ulong VmClockNanoseconds { get; init; }
    public long VmStateSize { get; init; }
    public long? DiskSize { get; init; }
    public ulong? Icount { get; init; }

    /// <summary>Bytes of extra data the entry carries (QEMU writes 24; v3 requires at least 16).</summary>
    public int ExtraDataSize { get; init; } = Qcow2SnapshotTableWriter.ExtraDataSize;

    /// <summary>
    /// Extra data past the fields known here (written by newer or other tools). Kept byte for byte and
    /// written back after the known fields whenever the table is rewritten, as QEMU does.
    /// </summary>
    public byte[] UnknownExtraData { get; init; } = [];

    public SnapshotInfo ToInfo() => new()
    {
        Id = Id,
        Name = Name,
        VmStateSize = VmStateSize,
        DateSeconds = DateSeconds,
        DateNanoseconds = DateNanoseconds,
        VmClockNanoseconds = (long)VmClockNanoseconds,
        Icount = Icount,
        DiskSize = DiskSize,
    };

    /// <summary>
    /// Reads and bounds-checks the snapshot table the header points at. As in QEMU, bytes past the end of
    /// the file read as zeros and an entry's L1 fields are not judged here: check reports them, and using
    /// such a snapshot fails (<see cref="ValidateL1"/>).
    /// </summary>
    public static List<Qcow2Snapshot> ReadTable(IStorage file, Qcow2Header header) =>
        ReadTable(file, header, header.SnapshotCount, repair: null, out _);

    /// <summary>
    /// Reads <paramref name="count"/> entries as QEMU's <c>qcow2_do_read_snapshots</c> does. Without
    /// <paramref name="repair"/>, an entry with more than 1 KiB of extra data or a table past 64 MiB fails with QEMU's
    /// message and its hint. With it (<c>check -r all</c>), such extra data is cut to 1 KiB and the entries that do not
    /// fit are dropped, each noted there. <paramref name="tableLength"/> is the extent of the entries kept, as they lie
    /// in the file.
    /// </summary>
    public static List<Qcow2Snapshot> ReadTable(IStorage file, Qcow2Header header, long count, SnapshotTableRepair? repair, out long tableLength)
    {
        var result = new List<Qcow2Snapshot>();
        tableLength = 0;
        long counted = 0;
        if (count == 0)
        {
            return result;
        }

        var start = header.SnapshotsOffset;
        var offset = start;
        Span<byte> fixedPart = stackalloc byte[Qcow2Constants.SnapshotHeaderSize];
        for (var i = 0; i < count; i++)
        {
            var entryStart = offset;
            counted = (counted + 7) & ~7L;
            offset = (offset + 7) & ~7L;
            file.Read(offset, fixedPart);
            var l1Offset = BinaryPrimitives.ReadInt64BigEndian(fixedPart);
            var l1Size = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[8..]);
            var idLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[12..]);
            var nameLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[14..]);
            var extraSize = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[36..]);
            var keptExtra = extraSize;
            if (extraSize > Qcow2Constants.MaxSnapshotExtraData)
            {
                if (repair is null)
                {
                    throw new InvalidImageException($"Too much extra metadata in snapshot table entry {i}\nYou can force-remove this extra metadata with qemu-img check -r all", offset);
                }

                repair.Messages.Add($"Discarding too much extra metadata in snapshot table entry {i} ({extraSize} > {Qcow2Constants.MaxSnapshotExtraData})");
                repair.ExtraDataDropped++;
                keptExtra = Qcow2Constants.MaxSnapshotExtraData;
            }

            // The entry is bounded before anything past its fixed part is read.
            counted += Qcow2Constants.SnapshotHeaderSize + keptExtra + idLength + nameLength;
            var entryEnd = offset + Qcow2Constants.SnapshotHeaderSize + extraSize + idLength + nameLength;
            if (counted > Qcow2Constants.MaxSnapshotTableBytes || entryEnd - start > int.MaxValue)
            {
                if (repair is null)
                {
                    throw new InvalidImageException($"Snapshot table is too big\nYou can force-remove all {count - i} overhanging snapshots with qemu-img check -r all", offset);
                }

                repair.Messages.Add($"Discarding {count - i} overhanging snapshots (snapshot table is too big)");
                repair.SnapshotsDropped += count - i;
                offset = entryStart;
                break;
            }

            var extra = new byte[keptExtra];
            file.Read(offset + Qcow2Constants.SnapshotHeaderSize, extra);
            var names = new byte[idLength + nameLength];

            // Cut extra data is skipped whole: the ID and name follow all of it.
            file.Read(offset + Qcow2Constants.SnapshotHeaderSize + extraSize, names);
            long vmState = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[32..]);
            // An entry without a disk size (version 2) has the image's size as it is opened, as in QEMU.
            long? diskSize = header.Size;
            ulong? icount = null;
            if (extra.Length >= 8)
            {
                vmState = BinaryPrimitives.ReadInt64BigEndian(extra);
            }

            if (extra.Length >= 16)
            {
                diskSize = BinaryPrimitives.ReadInt64BigEndian(extra.AsSpan(8));
            }

            if (extra.Length >= 24)
            {
                var value = BinaryPrimitives.ReadUInt64BigEndian(extra.AsSpan(16));
                icount = value == ulong.MaxValue ? null : value;
            }

            var known = Qcow2SnapshotTableWriter.ExtraDataSize;
            result.Add(new Qcow2Snapshot
            {
                L1TableOffset = l1Offset,
                L1Size = l1Size,
                ExtraDataSize = (int)keptExtra,
                UnknownExtraData = extra.Length > known ? extra[known..] : [],
                Id = CString(names.AsSpan(0, idLength)),
                Name = CString(names.AsSpan(idLength, nameLength)),
                DateSeconds = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[16..]),
                DateNanoseconds = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[20..]),
                VmClockNanoseconds = BinaryPrimitives.ReadUInt64BigEndian(fixedPart[24..]),
                VmStateSize = vmState,
                DiskSize = diskSize,
                Icount = icount,
            });
            offset = entryEnd;
        }

        tableLength = offset - start;
        return result;
    }

    /// <summary>An ID or name as QEMU holds it: a C string, so a NUL byte ends it.</summary>
    private static string CString(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }

    /// <summary>QEMU's checks before a snapshot's L1 table is read, with its wording.</summary>
    public void ValidateL1(int clusterSize)
    {
        if (L1Problem(clusterSize) is { } problem)
        {
            throw new InvalidImageException(problem.Message);
        }
    }

    /// <summary>What <see cref="ValidateL1"/> refuses, with the errno QEMU's table validation returns for it; null when valid.</summary>
    public (string Message, int Errno)? L1Problem(int clusterSize)
    {
        if (L1Size > Qcow2Constants.MaxL1Bytes / 8)
        {
            return ("Snapshot L1 table too large", ErrnoException.EFBIG);
        }

        if ((L1TableOffset & (clusterSize - 1)) != 0 || L1TableOffset < 0 || L1TableOffset > Qcow2Constants.MaxHostOffset - (L1Size * 8))
        {
            return ("Snapshot L1 table offset invalid", ErrnoException.EINVAL);
        }

        return null;
    }
}
