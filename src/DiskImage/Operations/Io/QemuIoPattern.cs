using System.Globalization;

namespace DiskImage.Operations.Io;

/// <summary>A pattern byte as qemu-io reads it (strtol with base 0): decimal, <c>0x</c> hex or leading-zero octal, 0 to 255.</summary>
public static class QemuIoPattern
{
    /// <summary>Reads a pattern byte; false when the text is not a number from 0 to 255.</summary>
    /// <param name="text">The pattern argument.</param>
    /// <param name="value">The byte when the text is valid.</param>
    public static bool TryParse(string text, out byte value)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = 0;
        var body = text.Length > 0 && text[0] == '+' ? text[1..] : text;
        long number = 0;
        bool ok;
        if (body.Length > 2 && body[0] == '0' && body[1] is 'x' or 'X')
        {
            ok = body.Length <= 18 && long.TryParse(body.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out number);
        }
        else if (body.Length > 1 && body[0] == '0')
        {
            ok = body.Length <= 22 && body.All(c => c is >= '0' and <= '7');
            number = ok ? Convert.ToInt64(body, 8) : 0;
        }
        else
        {
            ok = long.TryParse(body, NumberStyles.None, CultureInfo.InvariantCulture, out number);
        }

        if (!ok || number is < 0 or > 255)
        {
            return false;
        }

        value = (byte)number;
        return true;
    }
}
