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
    public static List<Qcow2Snapshot> ReadTable(IStorage file, Qcow2Header header)
    {
        var result = new List<Qcow2Snapshot>();
        if (header.SnapshotCount == 0)
        {
            return result;
        }

        var offset = header.SnapshotsOffset;
        long total = 0;
        Span<byte> fixedPart = stackalloc byte[Qcow2Constants.SnapshotHeaderSize];
        for (var i = 0; i < header.SnapshotCount; i++)
        {
            offset = (offset + 7) & ~7L;
            file.Read(offset, fixedPart);
            var l1Offset = BinaryPrimitives.ReadInt64BigEndian(fixedPart);
            var l1Size = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[8..]);
            var idLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[12..]);
            var nameLength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[14..]);
            var extraSize = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[36..]);
            if (extraSize > Qcow2Constants.MaxSnapshotExtraData)
            {
                throw new InvalidImageException($"Too much extra metadata in snapshot table entry {i}", offset);
            }

            var entryLength = Qcow2Constants.SnapshotHeaderSize + extraSize + idLength + nameLength;
            total += (entryLength + 7) & ~7L;
            if (total > Qcow2Constants.MaxSnapshotTableBytes)
            {
                throw new InvalidImageException("Snapshot table exceeds the size limit", offset);
            }

            var rest = new byte[extraSize + idLength + nameLength];
            file.Read(offset + Qcow2Constants.SnapshotHeaderSize, rest);
            var extra = rest.AsSpan(0, (int)extraSize);
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
                diskSize = BinaryPrimitives.ReadInt64BigEndian(extra[8..]);
            }

            if (extra.Length >= 24)
            {
                var value = BinaryPrimitives.ReadUInt64BigEndian(extra[16..]);
                icount = value == ulong.MaxValue ? null : value;
            }

            var known = Qcow2SnapshotTableWriter.ExtraDataSize;
            result.Add(new Qcow2Snapshot
            {
                L1TableOffset = l1Offset,
                L1Size = l1Size,
                ExtraDataSize = (int)extraSize,
                UnknownExtraData = extra.Length > known ? extra[known..].ToArray() : [],
                Id = Encoding.UTF8.GetString(rest.AsSpan((int)extraSize, idLength)),
                Name = Encoding.UTF8.GetString(rest.AsSpan((int)extraSize + idLength, nameLength)),
                DateSeconds = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[16..]),
                DateNanoseconds = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[20..]),
                VmClockNanoseconds = BinaryPrimitives.ReadUInt64BigEndian(fixedPart[24..]),
                VmStateSize = vmState,
                DiskSize = diskSize,
                Icount = icount,
            });
            offset += entryLength;
        }

        return result;
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
