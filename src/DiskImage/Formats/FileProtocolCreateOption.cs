using DiskImage.Options;

namespace DiskImage.Formats;

/// <summary>
/// The file protocol's create options (<c>nocow</c>, <c>preallocation</c>, <c>extent_size_hint</c>), which qemu-img
/// accepts for every format whose host file it creates. The format driver creates that file empty, so they shape
/// nothing; their values are still checked, and refused in the file driver's words once the image is announced.
/// </summary>
internal static class FileProtocolCreateOption
{
    /// <summary>True when <paramref name="key"/> is one of the file protocol's options (its value is checked); false otherwise.</summary>
    public static bool Accept(string key, string value)
    {
        switch (key)
        {
            case "nocow":
                KeyValueOptions.ParseBool(key, value);
                return true;
            case "extent_size_hint":
                SizeText.ParseOption(key, value);
                return true;
            case "preallocation":
                CheckPreallocation(value);
                return true;
            default:
                return false;
        }
    }

    /// <summary>A preallocation mode as the file driver takes it: off, falloc or full.</summary>
    public static Preallocation CheckPreallocation(string value) => value switch
    {
        "off" => Preallocation.Off,
        "falloc" => Preallocation.Falloc,
        "full" => Preallocation.Full,
        "metadata" => throw new DriverOptionException("Unsupported preallocation mode: metadata"),
        _ => throw new DriverOptionException($"invalid parameter value: {value}"),
    };
}
