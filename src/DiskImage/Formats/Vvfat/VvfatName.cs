namespace DiskImage.Formats.Vvfat;

/// <summary>
/// QEMU's <c>fat:[floppy:][12|16|32:][rw:]DIR</c> name: a host directory seen as a FAT disk. The options are found
/// anywhere in the name as <c>:floppy:</c>, <c>:12:</c> ... and the directory is what follows the last colon (or,
/// after a lone letter, a DOS drive name such as <c>c:\dir</c>), as QEMU reads it.
/// </summary>
internal sealed record VvfatName(string Directory, int FatType, bool Floppy, bool ReadWrite)
{
    public const string Prefix = "fat:";

    public static bool IsVvfat(string name) => name.StartsWith(Prefix, StringComparison.Ordinal);

    public static VvfatName Parse(string name)
    {
        if (!IsVvfat(name))
        {
            throw new InvalidOptionException("File name string must start with 'fat:'");
        }

        var fatType = name.Contains(":32:", StringComparison.Ordinal) ? 32
            : name.Contains(":16:", StringComparison.Ordinal) ? 16
            : name.Contains(":12:", StringComparison.Ordinal) ? 12 : 0;
        var last = name.LastIndexOf(':');
        var directory = last >= 2 && name[last - 2] == ':' && char.IsAsciiLetter(name[last - 1]) ? name[(last - 1)..] : name[(last + 1)..];
        return new VvfatName(directory, fatType, name.Contains(":floppy:", StringComparison.Ordinal), name.Contains(":rw:", StringComparison.Ordinal));
    }

    /// <summary>The vvfat node's options as QEMU prints them inside a <c>json:</c> name.</summary>
    public string NodeJson => Options.QemuJson.Object([
        new("fat-type", FatType.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("dir", Options.QemuJson.String(Directory)),
        new("driver", Options.QemuJson.String("vvfat")),
        new("floppy", Floppy ? "true" : "false"),
        new("rw", ReadWrite ? "true" : "false"),
    ], ordered: true);

    /// <summary>The name QEMU gives the raw node probed over the vvfat node.</summary>
    public string RawJson => Options.JsonFilename.Prefix + "{\"driver\": \"raw\", \"file\": " + NodeJson + "}";
}
