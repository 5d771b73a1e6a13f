using System.Diagnostics;

namespace DiskImage.Interop.Tests.Infrastructure;

/// <summary>
/// A tmpfs of a few MiB mounted over a directory, so that writes run out of space (ENOSPC). Only root may mount:
/// <see cref="TryMount"/> answers null elsewhere, and the caller falls back to a file-size limit or returns. Disposing
/// unmounts it (lazily, so a process still inside cannot keep it mounted).
/// </summary>
public sealed class SmallTmpfs : IDisposable
{
    private SmallTmpfs(string path) => Path = path;

    /// <summary>The mounted directory.</summary>
    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (mount's words: <c>16m</c>) over <paramref name="directory"/>.</summary>
    public static SmallTmpfs? TryMount(string directory, string size = "16m")
    {
        using var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "size=" + size, "tmpfs", directory]) { RedirectStandardError = true })!;
        mount.WaitForExit();
        return mount.ExitCode == 0 ? new SmallTmpfs(directory) : null;
    }

    /// <summary>Takes every free byte of the file system with one file, <paramref name="name"/>.</summary>
    public void Fill(string name = "filler")
    {
        using var filler = File.OpenHandle(System.IO.Path.Combine(Path, name), FileMode.CreateNew, FileAccess.Write);
        var block = new byte[4096];
        try
        {
            for (long offset = 0; ; offset += block.Length)
            {
                RandomAccess.Write(filler, block, offset);
            }
        }
        catch (IOException)
        {
            // Full.
        }

        Assert.Equal(0, new DriveInfo(Path).AvailableFreeSpace);
    }

    public void Dispose() => Process.Start("umount", ["-l", Path])!.WaitForExit();
}
