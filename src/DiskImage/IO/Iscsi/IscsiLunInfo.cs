using System.Buffers.Binary;

namespace DiskImage.IO.Iscsi;

/// <summary>
/// What the driver learns of a LUN at open, as QEMU's does: device type (INQUIRY), write protection (MODE SENSE(6)),
/// capacity and block size (READ CAPACITY(16), (10) as fallback), provisioning (READ CAPACITY(16)'s LBPME and the
/// Logical Block Provisioning page) and the Block Limits page. Every value from the target is checked before use.
/// </summary>
internal sealed record IscsiLunInfo
{
    public const int TypeDisk = 0x00;
    public const int TypeRom = 0x05;

    public int DeviceType { get; init; }

    public bool WriteProtected { get; init; }

    public int BlockSize { get; init; }

    public long Blocks { get; init; }

    /// <summary>Logical block provisioning management: GET LBA STATUS tells holes from data.</summary>
    public bool Lbpme { get; init; }

    /// <summary>Unmapped blocks read as zeroes.</summary>
    public bool Lbprz { get; init; }

    /// <summary>UNMAP is supported.</summary>
    public bool Lbpu { get; init; }

    /// <summary>WRITE SAME(16) with UNMAP is supported.</summary>
    public bool Lbpws { get; init; }

    /// <summary>Most blocks per READ/WRITE (0: no limit given).</summary>
    public uint MaxTransferBlocks { get; init; }

    /// <summary>Most blocks per UNMAP (0: no limit given).</summary>
    public uint MaxUnmapBlocks { get; init; }

    /// <summary>Most blocks per WRITE SAME (0: no limit given).</summary>
    public ulong MaxWriteSameBlocks { get; init; }

    public bool UseSixteen => Blocks - 1 > uint.MaxValue;

    public long Length => BlockSize == 0 ? 0 : Blocks * BlockSize;

    /// <summary>Reads it all over <paramref name="session"/>; failures in QEMU's words. MODE SENSE's failure is only reported.</summary>
    public static IscsiLunInfo Query(IscsiSession session)
    {
        var standard = Inquiry(session, vpd: false, 0) ?? throw Failed("iSCSI: failed to unmarshall inquiry datain blob");
        var info = new IscsiLunInfo { DeviceType = standard[0] & 0x1f };
        info = info with { WriteProtected = ModeSense(session) };
        info = ReadCapacity(session, info);
        var pages = Inquiry(session, vpd: true, 0x00) ?? throw Failed("iSCSI: failed to unmarshall inquiry datain blob");
        // Each page once, however often a target lists it.
        foreach (var page in pages.Skip(4).Distinct())
        {
            if (page == 0xb2 && Inquiry(session, vpd: true, 0xb2) is { Length: >= 6 } lbp)
            {
                info = info with { Lbpu = (lbp[5] & 0x80) != 0, Lbpws = (lbp[5] & 0x40) != 0 };
            }
            else if (page == 0xb0 && Inquiry(session, vpd: true, 0xb0) is { } limits)
            {
                info = info with
                {
                    MaxTransferBlocks = limits.Length >= 12 ? BinaryPrimitives.ReadUInt32BigEndian(limits.AsSpan(8)) : 0,
                    MaxUnmapBlocks = limits.Length >= 24 ? BinaryPrimitives.ReadUInt32BigEndian(limits.AsSpan(20)) : 0,
                    MaxWriteSameBlocks = limits.Length >= 44 ? BinaryPrimitives.ReadUInt64BigEndian(limits.AsSpan(36)) : 0,
                };
            }
        }

        return info;
    }

    /// <summary>INQUIRY: 64 bytes first, then the full length the answer declares (bounded by its 16-bit field); null when the answer is too short to hold its header.</summary>
    private static byte[]? Inquiry(IscsiSession session, bool vpd, byte page)
    {
        var result = session.Execute(ScsiCdb.Inquiry(vpd, page, 64), 64, []);
        if (!result.IsGood)
        {
            throw Failed($"iSCSI: Inquiry command failed : {result.Error}");
        }

        var data = result.Data;
        if (data.Length < (vpd ? 4 : 5))
        {
            return null;
        }

        var full = vpd ? BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(2)) + 4 : data[4] + 5;
        if (full > data.Length && data.Length == 64)
        {
            result = session.Execute(ScsiCdb.Inquiry(vpd, page, (ushort)Math.Min(full, ushort.MaxValue)), Math.Min(full, ushort.MaxValue), []);
            if (!result.IsGood)
            {
                throw Failed($"iSCSI: Inquiry command failed : {result.Error}");
            }

            data = result.Data;
        }

        return vpd ? data[..Math.Min(data.Length, full)] : data;
    }

    /// <summary>Write protection from MODE SENSE(6)'s header; a failure is reported and the LUN taken as writable, as QEMU does.</summary>
    private static bool ModeSense(IscsiSession session)
    {
        var result = session.Execute(ScsiCdb.ModeSense6(255), 255, []);
        if (!result.IsGood)
        {
            ImageWarnings.Report("iSCSI: Failed MODE_SENSE(6), LUN assumed writable");
            return false;
        }

        return result.Data.Length >= 4 && (result.Data[2] & 0x80) != 0;
    }

    /// <summary>
    /// READ CAPACITY(16) for a disk, (10) for a CD-ROM or when (16) fails; a unit attention is retried. Other device
    /// types have no capacity (QEMU passes them through as SCSI generic devices). The block size must be a power of
    /// two from 512 to 64 KiB and the block count must fit in 63 bits of bytes.
    /// </summary>
    private static IscsiLunInfo ReadCapacity(IscsiSession session, IscsiLunInfo info)
    {
        if (info.DeviceType is not (TypeDisk or TypeRom))
        {
            return info;
        }

        for (var attempt = 0; attempt < 8; attempt++)
        {
            if (info.DeviceType == TypeDisk)
            {
                var sixteen = session.Execute(ScsiCdb.ReadCapacity16(), 32, []);
                if (sixteen.IsGood)
                {
                    if (sixteen.Data.Length < 14)
                    {
                        throw Failed("iSCSI: Failed to unmarshall readcapacity16 data.");
                    }

                    var lastLba = BinaryPrimitives.ReadUInt64BigEndian(sixteen.Data);
                    var size = BinaryPrimitives.ReadUInt32BigEndian(sixteen.Data.AsSpan(8));
                    return Checked(info with { BlockSize = (int)Math.Min(size, int.MaxValue), Lbpme = sixteen.Data.Length > 14 && (sixteen.Data[14] & 0x80) != 0, Lbprz = sixteen.Data.Length > 14 && (sixteen.Data[14] & 0x40) != 0 }, lastLba, allowEmpty: false);
                }

                if (sixteen.Sense is { Key: ScsiSense.UnitAttention })
                {
                    continue;
                }
            }

            var ten = session.Execute(ScsiCdb.ReadCapacity10(), 8, []);
            if (ten.IsGood)
            {
                if (ten.Data.Length < 8)
                {
                    throw Failed("iSCSI: Failed to unmarshall readcapacity10 data.");
                }

                var lba = BinaryPrimitives.ReadUInt32BigEndian(ten.Data);
                var size = BinaryPrimitives.ReadUInt32BigEndian(ten.Data.AsSpan(4));
                return Checked(info with { BlockSize = (int)Math.Min(size, int.MaxValue) }, lba, allowEmpty: true);
            }

            if (ten.Sense is not { Key: ScsiSense.UnitAttention })
            {
                break;
            }
        }

        throw Failed("iSCSI: failed to send readcapacity10/16 command");
    }

    private static IscsiLunInfo Checked(IscsiLunInfo info, ulong lastLba, bool allowEmpty)
    {
        var size = info.BlockSize;
        if (size == 0 || size % 512 != 0)
        {
            throw Failed($"iSCSI: the target returned an invalid block size of {size}.");
        }

        if (size > 65536 || (size & (size - 1)) != 0)
        {
            throw Failed($"iSCSI: the target returned a block size of {size}, which is not a power of two up to 64 KiB.");
        }

        // READ CAPACITY(10) on a blank disc answers LBA 0: no blocks; (16) on an empty LUN answers the LBA before 0,
        // which QEMU takes, as it is, for no blocks.
        var blocks = allowEmpty && lastLba == 0 ? 0 : unchecked(lastLba + 1);
        if (blocks > (ulong)(long.MaxValue / size))
        {
            throw Failed($"iSCSI: the target returned an invalid capacity of {lastLba + 1} blocks.");
        }

        return info with { Blocks = (long)blocks };
    }

    private static IscsiProtocolException Failed(string message) => new(message);
}
