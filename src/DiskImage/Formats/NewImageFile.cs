using DiskImage.IO;

namespace DiskImage.Formats;

/// <summary>
/// Writes the first bytes of a new image file (header and empty tables). A write that fails (a full disk) is reported in
/// qemu-img's words, <c>Could not create image: ...</c>, and a file this call created is removed again, so nothing is
/// left under the image's name; a file that was there before is truncated, as qemu-img leaves it.
/// </summary>
internal static class NewImageFile
{
    public static void Write(string path, Action<HostFile> write)
    {
        var existed = File.Exists(path);
        var file = HostFile.Create(path);
        try
        {
            using (file)
            {
                write(file);
            }
        }
        catch (Exception e) when (e is IOException or FileTooLargeException)
        {
            if (!existed)
            {
                TryDelete(path);
            }

            if (e is IOException)
            {
                throw new ImageAccessException($"Could not create image: {ErrnoText.Describe(e, path)}", e);
            }

            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The error being reported is the write's; a file that cannot be removed stays.
        }
    }
}
