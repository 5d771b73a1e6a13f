namespace DiskImage.Interop.Tests.Iso;

/// <summary>
/// A source tree full of what trips ISO writers up: nesting past ISO 9660's 8 levels, a 180-character
/// name, Vietnamese and Spanish accents, spaces, an empty file, a 3 MiB binary, a symlink and an executable.
/// </summary>
public static class AwkwardTree
{
    public static readonly string LongName = new string('n', 176) + ".txt";

    public static void Create(string root)
    {
        var deep = Path.Combine(root, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k");
        Directory.CreateDirectory(deep);
        File.WriteAllText(Path.Combine(deep, "deep.txt"), "eleven levels down\n");
        File.WriteAllText(Path.Combine(root, LongName), "long name\n");
        File.WriteAllText(Path.Combine(root, "Tiếng Việt có dấu.txt"), "xin chào\n");
        File.WriteAllText(Path.Combine(root, "señor año cañón.txt"), "hola\n");
        Directory.CreateDirectory(Path.Combine(root, "dir with spaces"));
        File.WriteAllText(Path.Combine(root, "dir with spaces", "file with spaces.txt"), "spaces\n");
        File.WriteAllBytes(Path.Combine(root, "empty"), []);
        var binary = new byte[3 << 20];
        new Random(42).NextBytes(binary);
        File.WriteAllBytes(Path.Combine(root, "blob.bin"), binary);
        File.CreateSymbolicLink(Path.Combine(root, "link-to-c"), "a/b/c");
        var script = Path.Combine(root, "run.sh");
        File.WriteAllText(script, "#!/bin/sh\necho hello\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        }
        var stamp = new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        foreach (var entry in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Append(root))
        {
            if (new FileInfo(entry).LinkTarget is null)
            {
                File.SetLastWriteTimeUtc(entry, stamp);
            }
        }
    }
}
