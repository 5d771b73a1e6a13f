using System.Buffers.Binary;
using DiskImage.Formats.Vhdx;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>
/// Leaves a pending log in a VHDX, as a writer that crashed between logging and applying a change would: both
/// headers point at a new log GUID and the log holds one entry that writes a 4 KiB sector somewhere in the file.
/// </summary>
internal static class VhdxCraftedLog
{
    public const long LogOffset = 1 << 20;

    /// <summary>Logs <paramref name="sector"/> for <paramref name="fileOffset"/>; returns the entry as written, to be mutated by callers.</summary>
    public static byte[] AddPendingEntry(string path, long fileOffset, byte[] sector, ulong sequenceNumber = 5)
    {
        var logGuid = Guid.NewGuid();
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        ulong highest = 0;
        var blocks = new byte[2][];
        for (var i = 0; i < 2; i++)
        {
            blocks[i] = new byte[VhdxHeader.Size];
            file.Position = (i + 1) * 64 * 1024;
            file.ReadExactly(blocks[i]);
            highest = Math.Max(highest, BinaryPrimitives.ReadUInt64LittleEndian(blocks[i].AsSpan(8)));
        }

        for (var i = 0; i < 2; i++)
        {
            var header = VhdxHeader.TryParse(blocks[i]) ?? throw new InvalidOperationException("damaged header");
            (header with { SequenceNumber = highest + 1 + (ulong)i, LogGuid = logGuid }).WriteTo(blocks[i]);
            file.Position = (i + 1) * 64 * 1024;
            file.Write(blocks[i]);
        }

        var entry = VhdxLog.BuildEntry(logGuid, sequenceNumber, 0, file.Length, fileOffset, sector);
        file.Position = LogOffset;
        file.Write(entry);
        return entry;
    }

    /// <summary>Re-seals a changed entry with its checksum, so that only the change is wrong.</summary>
    public static void Reseal(string path, byte[] entry)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), VhdxCrc32C.Compute(entry, 4));
        using var file = File.OpenWrite(path);
        file.Position = LogOffset;
        file.Write(entry);
    }
}
