using System.Buffers;
using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Operations.Dd;

/// <summary>
/// <c>qemu-img dd</c>: creates the output image sized to the copied range and copies it, writing every
/// block (zeroes too) as qemu-img does, so the output's layout is qemu-img's.
/// </summary>
public static class ImageDd
{
    private const int SectorSize = 512;
    /// <summary>The largest single read or write; a larger bs is copied in pieces of this size.</summary>
    private const int MaxPiece = 64 << 20;

    /// <summary>
    /// Copies; <paramref name="progress"/> counts bytes of the input range copied. The output is refused when
    /// it is a file of the input's chain, and is whole or absent: written under a temporary name, renamed at the end.
    /// </summary>
    public static DdResult Copy(DdOptions options, IProgress<OperationProgress>? progress = null, ImageFormatRegistry? registry = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        registry ??= ImageFormatRegistry.Default;
        if (options.BlockSize is < 1 or > DdOptions.MaxBlockSize)
        {
            throw new InvalidOptionException($"Invalid bs specified. Must be between 1 and {DdOptions.MaxBlockSize}.");
        }

        if (options.Count < 0 || options.Skip < 0)
        {
            throw new InvalidOptionException("count and skip must not be negative");
        }

        using var input = registry.Open(options.InputPath, options.InputFormat, new ImageOpenOptions { SecretProvider = options.SecretProvider, KeySecret = options.InputKeySecret, ForceShare = options.ForceShare });

        // As qemu-img, the output's format is looked up once the input is open.
        var targetFormat = registry.TryGet(options.OutputFormat, out var found) ? found : throw new UnknownFormatException("Unknown file format");
        var bs = options.BlockSize;

        // QEMU sees the input as whole sectors.
        var end = (input.Length + SectorSize - 1) / SectorSize * SectorSize;
        if (options.Count is { } count && count <= long.MaxValue / bs && count * bs < end)
        {
            end = count * bs;
        }

        var start = 0L;
        var skippedPastEnd = false;
        if (options.Skip is { } skip)
        {
            if (skip > long.MaxValue / bs || skip * bs > end)
            {
                skippedPastEnd = true;
                start = end;
            }
            else
            {
                start = skip * bs;
            }
        }

        var length = end - start;
        InputOverlap.EnsureDistinct(options.OutputPath, [input]);
        cancellationToken.ThrowIfCancellationRequested();
        if (QemuFormatNames.CannotCreate(options.OutputFormat))
        {
            // A driver qemu-img has that creates nothing (a filter, a read-only format or protocol) is refused as qemu-img refuses it.
            throw new UnsupportedFeatureException(QemuFormatNames.NoCreationMessage(options.OutputFormat));
        }

        if (IO.ProtocolName.CreationRefusal(options.OutputPath) is { } refusal)
        {
            throw new UnsupportedFeatureException(refusal);
        }

        if (Formats.Raw.RawImage.LacksMedium(input))
        {
            // qemu-img asks for the input's size only now; a host_cdrom drive without a disc has none.
            throw new ImageAccessException($"Failed to get size for '{options.InputPath}'");
        }

        if (targetFormat is Formats.Foreign.ForeignDriverFormat || targetFormat is Formats.Raw.ProtocolFormat { Name: not "file" }
            || IO.Nfs.NfsUrl.IsNfs(options.OutputPath) || DiskImage.Options.SshNode.IsSshUri(options.OutputPath) || IO.Iscsi.IscsiNode.IsIscsi(options.OutputPath))
        {
            // A protocol other than file writes onto what the name names (a device, an export, a LUN) or refuses it by
            // that name, so nothing is staged under another locally; a new file on an SSH or NFS server is staged on
            // that server and keeps its name in every message.
            using var sshOutput = DiskImage.Options.SshNode.IsSshUri(options.OutputPath) && targetFormat is not Formats.Foreign.ForeignDriverFormat
                ? IO.Ssh.SshStagedOutput.Begin(options.OutputPath) : null;
            using var nfsOutput = IO.Nfs.NfsUrl.IsNfs(options.OutputPath) && targetFormat is not Formats.Foreign.ForeignDriverFormat
                ? IO.Nfs.NfsStagedOutput.Begin(options.OutputPath) : null;
            CreateTarget(targetFormat, options.OutputPath, options.OutputPath, length, registry);
            using (var device = registry.Open(options.OutputPath, targetFormat.Name, new ImageOpenOptions { ReadOnly = false }))
            {
                CopyRange(input, device, start, length, bs, progress, cancellationToken);
                device.Flush();
            }

            sshOutput?.Commit();
            nfsOutput?.Commit();
            return new DdResult(length, skippedPastEnd);
        }

        using var partial = BeginOutput(options.OutputPath);
        CreateTarget(targetFormat, partial.WritePath, options.OutputPath, length, registry);
        using (var output = registry.Open(partial.WritePath, targetFormat.Name, new ImageOpenOptions { ReadOnly = false }))
        {
            CopyRange(input, output, start, length, bs, progress, cancellationToken);
            output.Flush();
        }

        partial.Commit(flushToDisk: true);
        return new DdResult(length, skippedPastEnd);
    }

    private static PartialOutput BeginOutput(string name)
    {
        try
        {
            return PartialOutput.Begin(name);
        }
        catch (ImageAccessException e)
        {
            // A file about to be replaced that another process holds: qemu-img's words.
            e.PrependContext($"{name}: error while creating output image: ");
            throw;
        }
    }

    private static void CreateTarget(IImageFormat format, string path, string name, long length, ImageFormatRegistry registry)
    {
        try
        {
            // Formats take whole sectors, as qemu-img creates them.
            var size = (length + SectorSize - 1) / SectorSize * SectorSize;
            var createOptions = format.ParseCreateOptions(size, new Dictionary<string, string>()) with { Registry = registry };
            format.Create(path, createOptions);
        }
        catch (DiskImageException e)
        {
            // The exception keeps its type, so a lock conflict still carries qemu-img's hint line.
            e.PrependContext($"{name}: error while creating output image: ");
            throw;
        }
    }

    /// <summary>
    /// Copies block by block as qemu-img dd does: each block is read with a read of its own, holes included (a node that
    /// checks each read, such as blkverify, then names the block), and written with a write of its own, zeroes included, so a
    /// format that allocates on write ends up with the same clusters in the same places (qed, for one, places a new
    /// L2 table after the data clusters of the write that needs it). A block larger than <see cref="MaxPiece"/> is
    /// read and written in pieces of that size, so that no bs asks for a buffer of gigabytes.
    /// </summary>
    private static void CopyRange(IDiskImage input, IDiskImage output, long start, long length, long bs, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        if (length <= 0)
        {
            return;
        }

        var block = (int)Math.Min(bs, MaxPiece);
        var buffer = ArrayPool<byte>.Shared.Rent(block);
        try
        {
            for (var offset = start; offset < start + length;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var data = buffer.AsSpan(0, (int)Math.Min(block, start + length - offset));
                try
                {
                    ExtentCursor.ReadPadded(input, offset, data);
                }
                catch (ErrnoException e)
                {
                    throw new ImageAccessException($"error while reading from input image file: {e.Message}", e);
                }

                WritePadded(output, offset - start, data);
                offset += data.Length;
                progress?.Report(new OperationProgress(offset - start, length));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes what fits in the output; the output may be shorter than the sector-rounded range only by padding zeroes.</summary>
    private static void WritePadded(IBlockDevice output, long offset, ReadOnlySpan<byte> data)
    {
        var inside = (int)Math.Clamp(output.Length - offset, 0, data.Length);
        output.Write(offset, data[..inside]);
    }
}
