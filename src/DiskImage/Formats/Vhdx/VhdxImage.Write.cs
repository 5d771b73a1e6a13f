using System.Buffers.Binary;
using DiskImage.IO;

namespace DiskImage.Formats.Vhdx;

/// <summary>
/// Writing: data goes straight into fully present blocks; a write into any other block first allocates one at
/// the 1 MiB-aligned end of the file, writes the data, and only then records the block in the allocation table
/// through the log (entry written and flushed, the table sector written in place, the log marked empty), so a
/// crash at any point leaves either the old table or the new one, never a block pointing at unwritten space.
/// </summary>
public sealed partial class VhdxImage
{
    private const long MiB = 1 << 20;

    private readonly Lock _allocation = new();
    private ulong _logSequence;
    private uint _logPosition;

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        BlockMappedIo.Write(this, offset, data);
    }

    /// <summary>Blocks that are not present already read as zeroes; only allocated blocks are written.</summary>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        CheckWritable();
        CheckRange(offset, length);
        BlockMappedIo.WriteZeroes(this, offset, length);
    }

    void IBlockMap.BeforeWriteToAllocated(long offset) => _headers.BeforeVisibleWrite();

    void IBlockMap.WriteToNewBlock(long offset, ReadOnlySpan<byte> data) => WriteNewBlock(offset, data);

    /// <inheritdoc/>
    public void Discard(long offset, long length) => WriteZeroes(offset, length, mayUnmap: true);

    /// <inheritdoc/>
    public void Flush()
    {
        if (_file.CanWrite)
        {
            _file.Flush();
        }
    }

    /// <summary>QEMU's order: grow the file by a block, write the data, then log the table entry.</summary>
    private void WriteNewBlock(long offset, ReadOnlySpan<byte> data)
    {
        lock (_allocation)
        {
            var host = HostOffset(offset);
            if (host >= 0)
            {
                _file.Write(host, data);
                return;
            }

            _headers.BeforeVisibleWrite();
            var blockStart = (_file.Length + MiB - 1) / MiB * MiB;
            if ((ulong)blockStart > OffsetMask - (ulong)BlockSize)
            {
                throw new InvalidImageException("Invalid argument");
            }

            _file.SetLength(blockStart + BlockSize);
            _file.Write(blockStart + (offset % BlockSize), data);
            var block = offset / BlockSize;
            var index = block + (block / _metadata.ChunkRatio);
            var entry = (ulong)blockStart | FullyPresent;
            WriteTableEntry(index, entry);
            Volatile.Write(ref _bat[index], entry);
        }
    }

    /// <summary>One table entry changed through the log: the 4 KiB table sector holding it, as it will be.</summary>
    private void WriteTableEntry(long index, ulong entry)
    {
        var entryOffset = _batOffset + (index * 8);
        var sectorOffset = entryOffset & ~(long)(VhdxLog.SectorSize - 1);
        var sector = new byte[VhdxLog.SectorSize];
        _file.Read(sectorOffset, sector);
        BinaryPrimitives.WriteUInt64LittleEndian(sector.AsSpan((int)(entryOffset - sectorOffset)), entry);
        WriteThroughLog(sectorOffset, sector);
    }

    /// <summary>
    /// The log protocol: data already written is made stable; the headers get a new log GUID; the entry is
    /// written and made stable; the sector is written in place and made stable; the log is marked empty.
    /// </summary>
    private void WriteThroughLog(long fileOffset, byte[] sector)
    {
        var header = _headers.Current;
        _file.Flush();
        var logGuid = Guid.NewGuid();
        _headers.SetLogGuid(logGuid);
        var entry = VhdxLog.BuildEntry(logGuid, _logSequence, _logPosition, _file.Length, fileOffset, sector);
        for (var at = 0; at < entry.Length; at += VhdxLog.SectorSize)
        {
            _file.Write((long)header.LogOffset + _logPosition, entry.AsSpan(at, VhdxLog.SectorSize));
            _logPosition = (uint)((_logPosition + (ulong)VhdxLog.SectorSize) % header.LogLength);
        }

        _file.Flush();
        _logSequence++;
        _file.Write(fileOffset, sector);
        _file.Flush();
        _headers.SetLogGuid(Guid.Empty);
    }

    private void CheckWritable()
    {
        if (!_file.CanWrite)
        {
            throw new InvalidOperationException("The image was opened read-only.");
        }
    }
}
