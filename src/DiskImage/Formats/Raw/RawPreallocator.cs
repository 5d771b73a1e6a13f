using DiskImage.IO;

namespace DiskImage.Formats.Raw;

/// <summary>Grows a raw file the way qemu-img's preallocation modes do.</summary>
internal static class RawPreallocator
{
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
