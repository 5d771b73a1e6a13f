using DiskImage.IO;

namespace DiskImage.Formats.Raw;

/// <summary>Grows a raw file the way qemu-img's preallocation modes do.</summary>
internal static class RawPreallocator
{
    /// <summary>
    /// After an empty file was grown, writes zeroes over its first block (512 bytes when the file is shorter than
    /// 4 KiB, else 4 KiB), as QEMU's file driver does so that a later open can probe the alignment of an allocated
    /// block: a new raw image shows that block allocated in <c>map</c> and <c>du</c>. Failure is ignored, as there.
    /// </summary>
    public static void AllocateFirstBlock(IStorage file, long newLength)
    {
        const int BlockSize = 4096;
        if (newLength <= 0)
        {
            return;
        }

        try
        {
            file.Write(0, new byte[newLength < BlockSize ? 512 : BlockSize]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DiskImageException)
        {
            // Only an optimisation of the later alignment probe.
        }
    }

    /// <summary>Extends <paramref name="file"/> from <paramref name="oldLength"/> to <paramref name="newLength"/>.</summary>
    public static void Extend(IStorage file, long oldLength, long newLength, Preallocation mode)
    {
        if (file is IO.Ssh.SshStorage && mode != Preallocation.Off)
        {
            // QEMU's ssh driver grows a file only by writing its last byte, and says so before anything else.
            throw new InvalidOptionException($"Unsupported preallocation mode '{mode.ToString().ToLowerInvariant()}'");
        }

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
