using DiskImage.Options;

namespace DiskImage.Formats.Raw;

/// <summary>The raw format: the file is the disk, byte for byte. Thin (sparse) or thick (preallocated).</summary>
public sealed class RawFormat : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static RawFormat Instance { get; } = new();

    private RawFormat() { }

    /// <inheritdoc/>
    public string Name => "raw";

    /// <inheritdoc/>
    public int ProbeHeaderSize => 0;

    /// <summary>Raw claims every file weakly, so it is chosen only when nothing else is.</summary>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => 1;

    /// <inheritdoc/>
    public bool CanCreate => true;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var file = options.OpenFile(path, formatOwnsFile: false);
        if (options.Window is { } window)
        {
            file = WindowStorage.Open(file, window);
        }

        file.IgnoreFlushes = options.IgnoreFlushes;
        return new RawImage(file, options);
    }

    /// <inheritdoc/>
    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BackingFile is not null)
        {
            throw new InvalidOptionException("raw does not support backing files");
        }

        var size = options.Size ?? throw new InvalidOptionException("Image creation needs a size parameter");
        if (size < 0)
        {
            throw new InvalidOptionException("Image size must be non-negative");
        }

        // qemu-img rounds the size of a new raw image up to whole 512-byte sectors.
        size = size > long.MaxValue - 511 ? size : (size + 511) & ~511L;
        var preallocation = (options as RawCreateOptions)?.Preallocation ?? Preallocation.Off;
        if (Options.SshNode.IsSshUri(path))
        {
            // QEMU's ssh driver creates with O_CREAT | O_TRUNC and grows the file by writing its last byte.
            using var remote = IO.Ssh.SshStorage.Create(Options.SshNode.FromUri(path));
            remote.SetLength(size);
            return;
        }

        if (IO.Nfs.NfsUrl.IsNfs(path))
        {
            // QEMU's nfs driver creates (an existing file kept) and truncates to the size; it has no preallocation.
            if (preallocation != Preallocation.Off)
            {
                throw new InvalidOptionException($"Unsupported preallocation mode '{preallocation.ToString().ToLowerInvariant()}'");
            }

            using var remote = IO.Nfs.NfsStorage.Create(IO.Nfs.NfsNode.FromUrl(path), size);
            return;
        }

        if (IO.Iscsi.IscsiNode.IsIscsi(path))
        {
            // QEMU's iscsi driver cannot create: its fallback opens the LUN, which must be large enough, and zeroes the first sector.
            ProtocolFormat.Iscsi.CreateOnLun(path, size, preallocation);
            return;
        }

        if (IO.FileIdentity.Of(path) is { Kind: IO.FileKind.BlockDevice or IO.FileKind.CharacterDevice })
        {
            RawDeviceTarget.Create(path, size, preallocation);
            return;
        }

        try
        {
            using var file = IO.HostFile.Create(path);
            RawPreallocator.Extend(file, 0, size, preallocation);
            if (preallocation != Preallocation.Full)
            {
                RawPreallocator.AllocateFirstBlock(file, size);
            }
        }
        catch (Exception e) when (e is FileTooLargeException or ArgumentOutOfRangeException or IOException { HResult: FileTooLarge })
        {
            // The host file system cannot hold a file this long (EFBIG): no file left; the caller words it as qemu-img does.
            IO.FailedCreate.Remove(path);
            throw e as FileTooLargeException ?? new FileTooLargeException("File too large", e);
        }
    }

    /// <summary>EFBIG as the runtime reports it in an IOException's HResult.</summary>
    private const int FileTooLarge = 27;

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new RawCreateOptions { Size = size };
        foreach (var (key, value) in options)
        {
            result = key switch
            {
                "size" => result with { Size = SizeText.ParseOption(key, value) },
                "preallocation" => result with { Preallocation = ParsePreallocation(value) },
                // The file protocol's host hints: checked as qemu-img checks them, otherwise without effect here.
                "nocow" => KeyValueOptions.ParseBool(key, value) ? result : result,
                "extent_size_hint" => SizeText.ParseOption(key, value) >= 0 ? result : result,
                _ => throw new InvalidOptionException($"Invalid parameter '{key}'"),
            };
        }

        return result;
    }

    internal static Preallocation ParsePreallocation(string value) => FileProtocolCreateOption.CheckPreallocation(value);
}
