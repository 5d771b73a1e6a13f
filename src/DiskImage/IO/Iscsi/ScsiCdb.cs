using System.Buffers.Binary;

namespace DiskImage.IO.Iscsi;

/// <summary>The SCSI command descriptor blocks the initiator sends (SBC-3/SPC-4 layouts).</summary>
internal static class ScsiCdb
{
    public static byte[] TestUnitReady() => new byte[6];

    public static byte[] Inquiry(bool vpd, byte page, ushort allocation)
    {
        var cdb = new byte[6];
        cdb[0] = 0x12;
        cdb[1] = (byte)(vpd ? 1 : 0);
        cdb[2] = page;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(3), allocation);
        return cdb;
    }

    /// <summary>MODE SENSE(6) of every page, current values: its header tells write protection.</summary>
    public static byte[] ModeSense6(byte allocation) => [0x1a, 0, 0x3f, 0, allocation, 0];

    public static byte[] ReadCapacity10() => [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>SERVICE ACTION IN(16), READ CAPACITY(16), 32 bytes back.</summary>
    public static byte[] ReadCapacity16()
    {
        var cdb = new byte[16];
        cdb[0] = 0x9e;
        cdb[1] = 0x10;
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), 32);
        return cdb;
    }

    public static byte[] Read(long lba, int blocks, bool sixteen) => Transfer(sixteen ? (byte)0x88 : (byte)0x28, lba, blocks, sixteen);

    public static byte[] Write(long lba, int blocks, bool sixteen) => Transfer(sixteen ? (byte)0x8a : (byte)0x2a, lba, blocks, sixteen);

    /// <summary>SYNCHRONIZE CACHE(10) of the whole LUN.</summary>
    public static byte[] SynchronizeCache10() => [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>WRITE SAME(16) of one block over <paramref name="blocks"/>, with UNMAP when the blocks may be released.</summary>
    public static byte[] WriteSame16(long lba, int blocks, bool unmap)
    {
        var cdb = Transfer(0x93, lba, blocks, true);
        cdb[1] = (byte)(unmap ? 0x08 : 0);
        return cdb;
    }

    /// <summary>UNMAP with a parameter list of <paramref name="parameterLength"/> bytes.</summary>
    public static byte[] Unmap(ushort parameterLength)
    {
        var cdb = new byte[10];
        cdb[0] = 0x42;
        BinaryPrimitives.WriteUInt16BigEndian(cdb.AsSpan(7), parameterLength);
        return cdb;
    }

    /// <summary>UNMAP's parameter list for one range.</summary>
    public static byte[] UnmapParameters(long lba, int blocks)
    {
        var list = new byte[24];
        BinaryPrimitives.WriteUInt16BigEndian(list, 22);
        BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(2), 16);
        BinaryPrimitives.WriteUInt64BigEndian(list.AsSpan(8), (ulong)lba);
        BinaryPrimitives.WriteUInt32BigEndian(list.AsSpan(16), (uint)blocks);
        return list;
    }

    /// <summary>GET LBA STATUS from <paramref name="lba"/>, <paramref name="allocation"/> bytes back.</summary>
    public static byte[] GetLbaStatus(long lba, uint allocation)
    {
        var cdb = new byte[16];
        cdb[0] = 0x9e;
        cdb[1] = 0x12;
        BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), (ulong)lba);
        BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), allocation);
        return cdb;
    }

    private static byte[] Transfer(byte opcode, long lba, int blocks, bool sixteen)
    {
        if (sixteen)
        {
            var cdb = new byte[16];
            cdb[0] = opcode;
            BinaryPrimitives.WriteUInt64BigEndian(cdb.AsSpan(2), (ulong)lba);
            BinaryPrimitives.WriteUInt32BigEndian(cdb.AsSpan(10), (uint)blocks);
            return cdb;
        }

        var ten = new byte[10];
        ten[0] = opcode;
        BinaryPrimitives.WriteUInt32BigEndian(ten.AsSpan(2), (uint)lba);
        BinaryPrimitives.WriteUInt16BigEndian(ten.AsSpan(7), (ushort)blocks);
        return ten;
    }
}
