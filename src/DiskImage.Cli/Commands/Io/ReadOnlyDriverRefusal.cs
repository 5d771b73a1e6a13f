namespace DiskImage.Cli.Commands.Io;

/// <summary>
/// The refusal of a writable open by a read-only driver named on top of an <c>--image-opts</c> list: such a driver
/// refuses before it reads its other options or opens its file, so its words come before any complaint about them.
/// </summary>
internal static class ReadOnlyDriverRefusal
{
    /// <summary>The driver's refusal, or null when the list's top driver (the last <c>driver=</c>) is not read-only.</summary>
    public static string? Of(string list) => TopDriver(list) switch
    {
        "bochs" or "cloop" or "dmg" => "Image is read-only",
        "http" or "https" or "ftp" or "ftps" => "curl driver does not support writes",
        _ => null,
    };

    /// <summary>The value of the list's last <c>driver=</c> element (a doubled comma is an escaped one).</summary>
    private static string? TopDriver(string list)
    {
        string? driver = null;
        var start = 0;
        for (var i = 0; i <= list.Length; i++)
        {
            if (i < list.Length && list[i] == ',' && i + 1 < list.Length && list[i + 1] == ',')
            {
                i++;
                continue;
            }

            if (i == list.Length || list[i] == ',')
            {
                var element = list[start..i];
                if (element.StartsWith("driver=", StringComparison.Ordinal))
                {
                    driver = element["driver=".Length..].Replace(",,", ",", StringComparison.Ordinal);
                }

                start = i + 1;
            }
        }

        return driver;
    }
}
