using DiskImage.IO;

namespace DiskImage.Formats.Raw;

/// <summary>An open raw image: guest offsets are file offsets.</summary>
public sealed class RawImage : IDiskImage, IHostFileRuns, IFileCopyTarget
{
    private readonly IStorage _file;
    private readonly ImageOpenOptions _options;
    private long _length;
    private readonly IImageFormat _format;

    /// <summary>
    /// The blkdebug node this raw node is over (through its window, if any): QEMU's raw driver raises <c>read_aio</c>
    /// before each read and <c>write_aio</c> before each write there, which the node's rules can act on. Null otherwise.
    /// </summary>
    private readonly IO.Blkdebug.BlkdebugStorage? _debugNode;

    internal RawImage(IStorage file, ImageOpenOptions options, IImageFormat? format = null)
    {
        _file = file;
        _options = options;
        _format = format ?? RawFormat.Instance;
        // Like QEMU's block layer, a file whose size is not a whole number of 512-byte sectors is seen rounded
        // up; the bytes past the end of the file read as zeros.
        // A window of fixed size (a multiple of 512, as QEMU requires) is seen at that size; a window with only an
        // offset is the rest of the file, rounded up as a plain file is (the tail reads as zeros).
        _debugNode = _format == RawFormat.Instance ? (file is WindowStorage window ? window.Inner : file) as IO.Blkdebug.BlkdebugStorage : null;
        _length = LengthOf(file, options);
    }

    private static long LengthOf(IStorage file, ImageOpenOptions options)
    {
        var fileLength = file.Length;
        return options.Window is { Size: not null } || fileLength > long.MaxValue - 511 ? fileLength : (fileLength + 511) & ~511L;
    }

    /// <summary>Takes the file's length again after it was resized through this image's node, which stays open.</summary>
    internal void RefreshLength() => _length = LengthOf(_file, _options);

    /// <summary>The format node under a filter node (throttle over qcow2): QEMU's driver information (cluster size,
    /// VM state offset) passes through the filter from it. Null when the filter is over a plain file.</summary>
    internal IDiskImage? Filtered { get; init; }

    /// <summary>Asked before every request when set (a <c>host_cdrom</c> node): false means no medium, as QEMU's
    /// block backend sees a drive without a disc.</summary>
    internal Func<bool>? MediumCheck { get; init; }

    /// <summary>
    /// Whether a medium is there: always, but for a <c>host_cdrom</c> drive without a disc, whether this image is the
    /// drive's node (<c>-f host_cdrom</c>) or raw over it (its prefix): QEMU's block backend asks every node below it.
    /// </summary>
    internal bool HasMedium => (MediumCheck is null || MediumCheck()) && (_file is not ImageStorage { Image: RawImage node } || node.HasMedium);

    /// <summary>Whether <paramref name="image"/> is a <c>host_cdrom</c> drive without a disc, named with <c>-f</c> or
    /// with its prefix (raw over the drive's node).</summary>
    internal static bool LacksMedium(IDiskImage image) => image is RawImage { HasMedium: false };

    private void RequireMedium()
    {
        if (!HasMedium)
        {
            throw new ErrnoException(ErrnoException.ENOMEDIUM, "No medium found");
        }
    }

    /// <summary>Raw, or the protocol named in its place (<c>-f nbd</c>, <c>-f file</c>).</summary>
    public IImageFormat Format => _format;

    /// <inheritdoc/>
    public string FilePath => _file.Path;

    /// <inheritdoc/>
    public IDiskImage? Backing => null;

    /// <inheritdoc/>
    public long Length => _length;

    /// <inheritdoc/>
    public bool CanWrite => _file.CanWrite;

    /// <summary>The file underneath, for operations (resize, copy offload) that work on it directly.</summary>
    public IStorage File => _file;

    /// <inheritdoc/>
    public ImageInfo GetInfo() => new()
    {
        Filename = _options.StackedDisplayName ?? _options.Window?.DisplayName ?? _file.Path,
        Format = _format.Name,
        VirtualSize = _length,
        ActualSize = _file.AllocatedSize,
        ClusterSize = Filtered?.GetInfo().ClusterSize,
        FormatSpecific = _format == RawFormat.Instance && HasMedium ? Iso9660.IsoSpecificInfo.TryRead(this) : null,
    };

    /// <inheritdoc/>
    public void Read(long offset, Span<byte> buffer)
    {
        RequireMedium();
        CheckRange(offset, buffer.Length);
        _debugNode?.Event(IO.Blkdebug.BlkdebugEvent.ReadAio);
        if (_options.FormatWasProbed && _options.Window is null && ((offset | (long)buffer.Length) & (SectorSize - 1)) != 0)
        {
            ReadWholeSectors(offset, buffer);
            return;
        }

        _file.Read(offset, buffer);
    }

    private const int SectorSize = 512;
    private const int MaxPaddedRead = 16 << 20;

    /// <summary>
    /// QEMU restricts an image it only guessed to be raw to whole sectors, so the node below sees an unaligned read
    /// as the sectors around it (which blkverify, for one, names in its mismatch line).
    /// </summary>
    private void ReadWholeSectors(long offset, Span<byte> buffer)
    {
        var start = offset & ~(SectorSize - 1L);
        var end = Math.Min((offset + buffer.Length + SectorSize - 1) & ~(SectorSize - 1L), _length);
        if (end - start > MaxPaddedRead)
        {
            // Not worth a buffer of that size: the bytes are the same either way.
            _file.Read(offset, buffer);
            return;
        }

        var sectors = new byte[end - start];
        _file.Read(start, sectors);
        sectors.AsSpan((int)(offset - start), buffer.Length).CopyTo(buffer);
    }

    /// <inheritdoc/>
    public void Write(long offset, ReadOnlySpan<byte> data)
    {
        RequireMedium();
        CheckWritable();
        CheckRange(offset, data.Length);
        GuessedRawGuard.Check(_options, offset, data, _file);
        _debugNode?.Event(IO.Blkdebug.BlkdebugEvent.WriteAio);
        _file.Write(offset, data);
    }

    /// <inheritdoc/>
    HostFileRun IHostFileRuns.GetHostFileRun(long offset, long length) =>
        new(length, _file as HostFile, offset); // bytes past the end of the file read as zeroes; a copy stops there

    /// <inheritdoc/>
    void IFileCopyTarget.WriteCopying(long offset, ReadOnlySpan<byte> data, HostFile source, long sourceOffset)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        GuessedRawGuard.Check(_options, offset, data, _file);
        var copied = _file is HostFile file ? (int)file.CopyFrom(source, sourceOffset, offset, data.Length) : 0;
        if (copied < data.Length)
        {
            _file.Write(offset + copied, data[copied..]);
        }
    }

    /// <inheritdoc/>
    public void WriteZeroes(long offset, long length, bool mayUnmap)
    {
        RequireMedium();
        CheckWritable();
        CheckRange(offset, length);
        _file.WriteZeroes(offset, length, mayUnmap);
    }

    /// <inheritdoc/>
    public void Discard(long offset, long length)
    {
        RequireMedium();
        CheckWritable();
        CheckRange(offset, length);
        _file.Discard(offset, length);
    }

    /// <inheritdoc/>
    public void Flush()
    {
        if (_file.CanWrite)
        {
            _file.Flush();
        }
    }

    /// <summary><c>cache.direct=on</c>: block status past the end of the file follows the file's last bytes (see <see cref="GetExtents"/>).</summary>
    internal bool DirectIo => _options.DirectIo && _options.Window is null;

    /// <inheritdoc/>
    public IReadOnlyList<Extent> GetExtents(long offset, long length)
    {
        CheckRange(offset, length);
        var fileLength = _file.Length;
        if (offset + length <= fileLength)
        {
            return _file.GetExtents(offset, length);
        }

        // The sector tail past the end of the file reads as zeros at its (virtual) file offset.
        var extents = new List<Extent>();
        if (offset < fileLength)
        {
            extents.AddRange(_file.GetExtents(offset, fileLength - offset));
        }

        var tail = Math.Max(offset, fileLength);
        if (DirectIo && fileLength > 0)
        {
            // With O_DIRECT QEMU asks for block status in whole aligned blocks, so the tail past the end of the file
            // has the status of the file's last bytes (its last block reaches past the end).
            if (extents.Count > 0)
            {
                extents[^1] = extents[^1] with { Length = extents[^1].Length + (offset + length - tail) };
            }
            else
            {
                extents.Add(new Extent(tail, offset + length - tail, _file.GetExtents(fileLength - 1, 1)[0].Kind));
            }

            return extents;
        }

        extents.Add(new Extent(tail, offset + length - tail, ExtentKind.Zero));
        return extents;
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();

    private void CheckWritable()
    {
        if (!_file.CanWrite)
        {
            throw new InvalidOperationException("The image was opened read-only.");
        }
    }

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > _length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Range {offset}+{length} lies outside the {_length}-byte image.");
        }
    }
}
