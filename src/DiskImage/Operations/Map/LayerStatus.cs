using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Raw;
using DiskImage.IO;

namespace DiskImage.Operations.Map;

/// <summary>
/// Block status of one layer of a chain, with QEMU's generic rules applied: a run is "allocated" when the
/// layer says data or zero; an unallocated run reads as zero when there is no backing file or the backing
/// file ends before it.
/// </summary>
internal readonly record struct LayerStatus(long Length, bool Data, bool Zero, bool Allocated, long? HostOffset, string? HostFileName = null)
{
    public static LayerStatus Of(IDiskImage image, long offset, long length)
    {
        length = Math.Min(length, image.Length - offset);
        var status = image switch
        {
            Qcow2Image qcow2 => OfQcow2(qcow2, offset, length),
            RawImage { File: Nbd.Client.NbdStorage nbd } => OfNbd(nbd, offset, length),
            RawImage { File: Formats.Vvfat.VvfatStorage } vvfat => OfExtents(vvfat, offset, length), // data at no file offset
            RawImage { DirectIo: true } raw => OfHostFile(raw, offset, length),
            RawImage raw => OfHostFile(raw.File, offset, length),
            Formats.Vmdk.VmdkImage vmdk => OfVmdk(vmdk, offset, length),
            IHostMappedImage mapped => OfHostMapped(mapped, offset, length),
            _ => OfExtents(image, offset, length),
        };

        // Only formats that can have a backing file read their unallocated runs as zeroes; raw (over an NBD export or
        // a null node, whose runs can be neither) cannot.
        if (!status.Allocated && image is not RawImage && (image.Backing is null || offset >= image.Backing.Length))
        {
            status = status with { Zero = true };
        }

        return status;
    }

    private static LayerStatus OfQcow2(Qcow2Image image, long offset, long length)
    {
        var run = image.GetBlockStatus(offset, length);
        var data = run.Type is Qcow2SubclusterType.Normal or Qcow2SubclusterType.Compressed;
        var zero = run.Type is Qcow2SubclusterType.ZeroPlain or Qcow2SubclusterType.ZeroAlloc;
        var hasOffset = run.HasHostOffset && image.Header.CryptMethod == Qcow2Constants.CryptNone;
        // Offsets of an image with an external data file are in that file, which map names.
        var status = new LayerStatus(run.Length, data, zero, data || zero, hasOffset ? run.HostOffset : null,
            image.HasOpenDataFile ? image.DataStorage.Path : null);
        if (data && hasOffset && image.IsMetadataPreallocated)
        {
            // QEMU asks the file too: clusters that are holes in a preallocated file read as zeroes.
            var file = image.DataStorage;
            var first = file.GetExtents(run.HostOffset, run.Length)[0];
            if (first.Kind == ExtentKind.Zero)
            {
                status = status with { Zero = true, Length = run.HostOffset >= file.Length ? run.Length : first.Length };
            }
            else
            {
                status = status with { Length = first.Length };
            }
        }

        return status;
    }

    /// <summary>An NBD export: the server's flags as QEMU's nbd driver maps them; a run that is neither data nor zero has no offset.</summary>
    private static LayerStatus OfNbd(Nbd.Client.NbdStorage nbd, long offset, long length)
    {
        var (runLength, data, zero) = nbd.StatusAt(offset, length);
        var allocated = data || zero;
        return new LayerStatus(runLength, data, zero, allocated, allocated ? offset : null);
    }

    private static LayerStatus OfVmdk(Formats.Vmdk.VmdkImage image, long offset, long length)
    {
        var run = image.MapStatus(offset, length);
        var data = run.State == Formats.Vmdk.VmdkGrainState.Data;
        return new LayerStatus(run.Length, data, run.Zero, run.State != Formats.Vmdk.VmdkGrainState.Unallocated, run.HostOffset, run.FileName);
    }

    /// <summary>A raw image opened with O_DIRECT: its own block status, whose tail past the file's end follows the file's last block.</summary>
    private static LayerStatus OfHostFile(RawImage raw, long offset, long length)
    {
        var first = raw.GetExtents(offset, length)[0];
        var data = first.Kind == ExtentKind.Data;
        return new LayerStatus(first.Length, data, !data, true, offset);
    }

    private static LayerStatus OfHostFile(IStorage file, long offset, long length)
    {
        var first = file.GetExtents(offset, length)[0];
        if (first.Kind == ExtentKind.Unallocated)
        {
            // A null node without read-zeroes: neither data nor zero, which QEMU's map shows without an offset.
            return new LayerStatus(first.Length, false, false, false, null);
        }

        var data = first.Kind == ExtentKind.Data;
        // A raw window (offset option) sits further into its file; a blkverify node's status is its raw copy's,
        // which QEMU names as the file.
        // A blkdebug node passes the question to its image, which QEMU's map then names.
        return new LayerStatus(first.Length, data, !data, true, offset + ((file as Formats.Raw.WindowStorage)?.Start ?? 0),
            (file as IO.Blkverify.BlkverifyStorage)?.Raw.Path ?? (file as IO.Blkdebug.BlkdebugStorage)?.Inner.Path);
    }

    private static LayerStatus OfHostMapped(IHostMappedImage image, long offset, long length)
    {
        var run = image.MapRun(offset, length);
        if (run.HostOffset is not { } host || run.Kind != ExtentKind.Data || run.Mode == HostMappingMode.Exact)
        {
            var data = run.Kind == ExtentKind.Data;
            var zero = run.Kind == ExtentKind.Zero;
            return new LayerStatus(run.Length, data, zero, data || zero, run.HostOffset);
        }

        var fileLength = image.Storage.Length;
        var first = host >= fileLength ? new Extent(host, run.Length, ExtentKind.Zero) : image.Storage.GetExtents(host, Math.Min(run.Length, fileLength - host))[0];
        var holes = first.Kind != ExtentKind.Data;
        var keepData = run.Mode == HostMappingMode.FileZeroes || !holes;
        return new LayerStatus(Math.Min(run.Length, first.Length), keepData, holes, true, host);
    }

    private static LayerStatus OfExtents(IDiskImage image, long offset, long length)
    {
        var first = image.GetExtents(offset, length)[0];
        return first.Kind switch
        {
            ExtentKind.Data => new LayerStatus(first.Length, true, false, true, null),
            ExtentKind.Zero => new LayerStatus(first.Length, false, true, true, null),
            _ => new LayerStatus(first.Length, false, false, false, null),
        };
    }
}
