using System.Globalization;
using DiskImage.IO;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>The kernel's table of open-file-description locks (<c>/proc/locks</c>), read for one file.</summary>
public static class LockTable
{
    /// <summary>The bytes of <paramref name="path"/> under some OFD lock, by anyone, sorted, each once.</summary>
    public static IReadOnlyList<int> HeldBytes(string path)
    {
        string inode;
        using (var handle = File.OpenHandle(path))
        {
            inode = LinuxFileCalls.Identity(handle.DangerousGetHandle())!.Value.Inode.ToString(CultureInfo.InvariantCulture);
        }

        var held = new SortedSet<int>();
        foreach (var line in File.ReadAllLines("/proc/locks"))
        {
            // "1: OFDLCK ADVISORY  READ -1 fe:00:11657673 100 101"
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 8 || fields[1] != "OFDLCK" || !fields[5].EndsWith(":" + inode, StringComparison.Ordinal))
            {
                continue;
            }

            var last = int.Parse(fields[7], CultureInfo.InvariantCulture);
            for (var b = int.Parse(fields[6], CultureInfo.InvariantCulture); b <= last; b++)
            {
                held.Add(b);
            }
        }

        return [.. held];
    }
}
