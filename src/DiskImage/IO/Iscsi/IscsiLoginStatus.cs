using System.Globalization;

namespace DiskImage.IO.Iscsi;

/// <summary>A Login Response's status class and detail as libiscsi words them (<c>Target not found(515)</c>).</summary>
internal static class IscsiLoginStatus
{
    public static string Text(int status) => string.Create(CultureInfo.InvariantCulture, $"{Name(status)}({status})");

    private static string Name(int status) => status switch
    {
        0x0101 => "Target moved temporarily",
        0x0102 => "Target moved permanently",
        0x0200 => "Initiator error",
        0x0201 => "Authentication failure",
        0x0202 => "Authorization failure",
        0x0203 => "Target not found",
        0x0204 => "Target removed",
        0x0205 => "Unsupported version",
        0x0206 => "Too many connections",
        0x0207 => "Missing parameter",
        0x0208 => "Can't include in session",
        0x0209 => "Session type not supported",
        0x020a => "Session does not exist",
        0x020b => "Invalid request type during login",
        0x0300 => "Target error",
        0x0301 => "Service unavailable",
        0x0302 => "Out of resources",
        _ => "Unknown login status",
    };
}
