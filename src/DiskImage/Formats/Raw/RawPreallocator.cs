using DiskImage.IO;

namespace DiskImage.Formats.Raw;

/// <summary>Grows a raw file the way qemu-img's preallocation modes do.</summary>
internal static class RawPreallocator
{
    /// <summary>The block QEMU allocates at the start of a file it grows from empty (a 4 KiB write; 512 bytes in a smaller file).</summary>
    private const int FirstBlock = 4096;

    /// <summary>
    /// As QEMU's file driver: a file grown from empty gets its first block written with zeroes, so that later opens
    /// with <c>O_DIRECT</c> can probe the alignment by reading allocated bytes. The block then shows as data in maps.
    /// Host files only, and not after full preallocation (which wrote every byte); failures are ignored, as QEMU
    /// ignores them.
    /// </summary>
    public static void AllocateFirstBlock(IStorage file, long oldLength, long newLength, Preallocation mode)
    {
        if (oldLength != 0 || newLength <= 0 || mode is not (Preallocation.Off or Preallocation.Falloc) || file is not HostFile)
        {
            return;
        }

        // Regular files only: a device keeps what it holds (QEMU's host_device driver never writes this block).
        if (!FileStatCalls.TryStat(file.Path, out _, out _, out var kind) || kind != FileKind.Regular)
        {
            return;
        }

        var size = (int)Math.Min(newLength < FirstBlock ? 512 : FirstBlock, newLength);
        try
        {
            file.Write(0, new byte[size]);
        }
        catch (IOException)
        {
            // Only an optimisation for alignment probing.
        }
    }

    /// <summary>Extends <paramref name="file"/> from <paramref name="oldLength"/> to <paramref name="newLength"/>.</summary>
    public static void Extend(IStorage file, long oldLength, long newLength, Preallocation mode)
    {
        if (newLength <= oldLength)
        {
            if (newLength < oldLength)
            {
                file.SetLength(newLength);
            }

            return;
        }

        switch (mode)
        {
            case Preallocation.Off:
                file.SetLength(newLength);
                break;
            case Preallocation.Falloc:
                if (!file.TryAllocate(oldLength, newLength - oldLength))
                {
                    // As qemu-img: falloc is a request for reserved space; without fallocate, write zeroes.
                    file.WriteZeroBytes(oldLength, newLength - oldLength);
                }

                file.SetLength(newLength);
                break;
            case Preallocation.Full:
                // The length first, as QEMU does: a size the file system cannot hold fails before any zero is written.
                file.SetLength(newLength);
                file.WriteZeroBytes(oldLength, newLength - oldLength);
                break;
            default:
                throw new InvalidOptionException($"Unsupported preallocation mode '{mode.ToString().ToLowerInvariant()}' for raw");
        }
    }
}
