namespace DiskImage.IO.Iscsi;

/// <summary>How a SCSI command ended: its status (0 GOOD, 2 CHECK CONDITION ...), the sense data of a CHECK CONDITION, and the bytes read.</summary>
internal sealed record ScsiResult(byte Status, ScsiSense? Sense, byte[] Data)
{
    public const byte Good = 0x00;
    public const byte CheckCondition = 0x02;

    public bool IsGood => Status == Good;

    /// <summary>libiscsi's words for a failed command: the sense, or the status.</summary>
    public string Error => Sense is { } sense ? sense.ToString() : $"SCSI status 0x{Status:x2}";
}
