using System.Buffers.Binary;
using System.Text;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Serializes the internal snapshot table the way QEMU lays it out: every entry carries the 24 bytes of
/// extra data known here (so a version-3 image is complete), followed by any unknown extra data it was
/// read with, unchanged.
/// </summary>
internal static class Qcow2SnapshotTableWriter
{
    /// <summary>Extra data QEMU writes: vm_state_size_large, disk_size, icount.</summary>
    public const int ExtraDataSize = 24;

    /// <summary>
    /// The table bytes for <paramref name="snapshots"/>. Entries without a recorded disk size get
    /// <paramref name="currentSize"/>, as QEMU fills them in when it loads such a table.
    /// </summary>
    public static byte[] Serialize(IReadOnlyList<Qcow2Snapshot> snapshots, long currentSize)
    {
        if (snapshots.Count > Qcow2Constants.MaxSnapshots)
        {
            throw new InvalidOptionException("Too many internal snapshots");
        }

        var parts = new List<(Qcow2Snapshot Snapshot, byte[] Id, byte[] Name)>(snapshots.Count);
        long total = 0;
        foreach (var snapshot in snapshots)
        {
            var id = Encoding.UTF8.GetBytes(snapshot.Id);
            var name = Encoding.UTF8.GetBytes(snapshot.Name);
            if (id.Length > ushort.MaxValue || name.Length > ushort.MaxValue)
            {
                throw new InvalidOptionException("Snapshot ID or name is too long");
            }

            parts.Add((snapshot, id, name));
            total += EntryLength(snapshot, id.Length, name.Length);
        }

        if (total > Qcow2Constants.MaxSnapshotTableBytes)
        {
            throw new InvalidOptionException("Snapshot table exceeds the size limit");
        }

        var table = new byte[total];
        var position = 0;
        foreach (var (snapshot, id, name) in parts)
        {
            var entry = table.AsSpan(position);
            BinaryPrimitives.WriteInt64BigEndian(entry, snapshot.L1TableOffset);
            BinaryPrimitives.WriteUInt32BigEndian(entry[8..], (uint)snapshot.L1Size);
            BinaryPrimitives.WriteUInt16BigEndian(entry[12..], (ushort)id.Length);
            BinaryPrimitives.WriteUInt16BigEndian(entry[14..], (ushort)name.Length);
            BinaryPrimitives.WriteUInt32BigEndian(entry[16..], snapshot.DateSeconds);
            BinaryPrimitives.WriteUInt32BigEndian(entry[20..], snapshot.DateNanoseconds);
            BinaryPrimitives.WriteUInt64BigEndian(entry[24..], snapshot.VmClockNanoseconds);
            // The 32-bit field only serves old readers; the 64-bit copy in the extra data is authoritative.
            BinaryPrimitives.WriteUInt32BigEndian(entry[32..], snapshot.VmStateSize is >= 0 and < uint.MaxValue ? (uint)snapshot.VmStateSize : 0);
            var unknown = snapshot.UnknownExtraData;
            BinaryPrimitives.WriteUInt32BigEndian(entry[36..], (uint)(ExtraDataSize + unknown.Length));
            var extra = entry[Qcow2Constants.SnapshotHeaderSize..];
            BinaryPrimitives.WriteInt64BigEndian(extra, snapshot.VmStateSize);
            BinaryPrimitives.WriteInt64BigEndian(extra[8..], snapshot.DiskSize ?? currentSize);
            BinaryPrimitives.WriteUInt64BigEndian(extra[16..], snapshot.Icount ?? ulong.MaxValue);
            unknown.CopyTo(extra[ExtraDataSize..]);
            var extraEnd = ExtraDataSize + unknown.Length;
            id.CopyTo(extra[extraEnd..]);
            name.CopyTo(extra[(extraEnd + id.Length)..]);
            position += EntryLength(snapshot, id.Length, name.Length);
        }

        return table;
    }

    /// <summary>Extra data bytes an entry is written with.</summary>
    public static int WrittenExtraDataSize(Qcow2Snapshot snapshot) => ExtraDataSize + snapshot.UnknownExtraData.Length;

    private static int EntryLength(Qcow2Snapshot snapshot, int idLength, int nameLength) =>
        (Qcow2Constants.SnapshotHeaderSize + WrittenExtraDataSize(snapshot) + idLength + nameLength + 7) & ~7;
}
