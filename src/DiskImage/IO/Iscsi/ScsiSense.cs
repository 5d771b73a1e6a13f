using System.Globalization;

namespace DiskImage.IO.Iscsi;

/// <summary>
/// Sense data of a CHECK CONDITION: key, additional sense code and qualifier from fixed (0x70/0x71) or descriptor
/// (0x72/0x73) format, and the text libiscsi gives it (<c>SENSE KEY:ILLEGAL_REQUEST(5) ASCQ:...(0x2500)</c>).
/// </summary>
internal readonly record struct ScsiSense(int Key, int Asc, int Ascq)
{
    public const int UnitAttention = 6;

    /// <summary>The sense data inside a SCSI Response's data segment (a 2-byte length, then the bytes); null where there is none or it is cut short.</summary>
    public static ScsiSense? FromResponseData(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
        {
            return null;
        }

        var length = (data[0] << 8) | data[1];
        return length > data.Length - 2 ? null : Decode(data.Slice(2, length));
    }

    /// <summary>Decodes sense bytes; null for a format this does not know or bytes too short for it.</summary>
    public static ScsiSense? Decode(ReadOnlySpan<byte> sense)
    {
        if (sense.Length < 1)
        {
            return null;
        }

        return (sense[0] & 0x7f) switch
        {
            0x70 or 0x71 when sense.Length >= 14 => new ScsiSense(sense[2] & 0x0f, sense[12], sense[13]),
            0x70 or 0x71 when sense.Length >= 3 => new ScsiSense(sense[2] & 0x0f, 0, 0),
            0x72 or 0x73 when sense.Length >= 4 => new ScsiSense(sense[1] & 0x0f, sense[2], sense[3]),
            _ => null,
        };
    }

    public int Code => (Asc << 8) | Ascq;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"SENSE KEY:{KeyName(Key)}({Key}) ASCQ:{CodeName(Code)}(0x{Code:x4})");

    private static string KeyName(int key) => key switch
    {
        0 => "NO_SENSE",
        1 => "RECOVERED_ERROR",
        2 => "NOT_READY",
        3 => "MEDIUM_ERROR",
        4 => "HARDWARE_ERROR",
        5 => "ILLEGAL_REQUEST",
        6 => "UNIT_ATTENTION",
        7 => "DATA_PROTECTION",
        8 => "BLANK_CHECK",
        9 => "VENDOR_SPECIFIC",
        10 => "COPY_ABORTED",
        11 => "COMMAND_ABORTED",
        13 => "OVERFLOW_COMMAND",
        14 => "MISCOMPARE",
        _ => "Unknown",
    };

    private static string CodeName(int code) => code switch
    {
        0x0000 => "NO_ADDITIONAL_SENSE_INFORMATION",
        0x0403 => "LOGICAL_UNIT_NOT_READY_MANUAL_INTERVENTION_REQUIRED",
        0x0c00 => "WRITE_ERROR",
        0x1100 => "UNRECOVERED_READ_ERROR",
        0x1a00 => "PARAMETER_LIST_LENGTH_ERROR",
        0x2000 => "INVALID_OPERATION_CODE",
        0x2100 => "LBA_OUT_OF_RANGE",
        0x2400 => "INVALID_FIELD_IN_CDB",
        0x2500 => "LOGICAL_UNIT_NOT_SUPPORTED",
        0x2600 => "INVALID_FIELD_IN_PARAMETER_LIST",
        0x2700 => "WRITE_PROTECTED",
        0x2900 => "BUS_RESET",
        0x2a09 => "CAPACITY_DATA_HAS_CHANGED",
        0x3a00 => "MEDIUM_NOT_PRESENT",
        0x3f0e => "REPORTED_LUNS_DATA_HAS_CHANGED",
        0x1d00 => "MISCOMPARE_DURING_VERIFY",
        _ => "Unknown",
    };
}
