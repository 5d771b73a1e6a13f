using DiskImage.Formats;

namespace DiskImage.Tests.Formats.Cloop;

/// <summary>
/// Reads a mutated bochs or cloop image the way a user would (open, info, block status, every byte up to a budget):
/// the only failures allowed are the library's own, and memory must stay near what the file itself takes.
/// </summary>
internal static class MutantReader
{
    public static void ReadAll(string path, string format)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            using var image = ImageFormatRegistry.Default.Open(path, format);
            _ = image.GetInfo();
            _ = image.GetExtents(0, image.Length);
            var buffer = new byte[64 * 1024];
            var budget = Math.Min(image.Length, 4L << 20);
            for (var offset = 0L; offset < budget; offset += buffer.Length)
            {
                try
                {
                    image.Read(offset, buffer.AsSpan(0, (int)Math.Min(buffer.Length, image.Length - offset)));
                }
                catch (DiskImageException)
                {
                    // A block that fails to read; the next may read.
                }
            }
        }
        catch (DiskImageException)
        {
        }

        // QEMU's own bounds allow a 64 MiB block buffer; nothing beyond that and the file's size.
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < (80L << 20) + (16 * new FileInfo(path).Length), $"{allocated} bytes allocated reading a mutant");
    }
}
