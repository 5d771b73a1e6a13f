using DiskImage.IO;
using DiskImage.Options;

namespace DiskImage.Formats.Vdi;

/// <summary>VirtualBox's VDI format (version 1.1), static and dynamic, as QEMU reads and writes it.</summary>
public sealed class VdiFormat : IImageFormat
{
    /// <summary>The one instance; formats hold no state.</summary>
    public static VdiFormat Instance { get; } = new();

    private VdiFormat() { }

    /// <inheritdoc/>
    public string Name => "vdi";

    /// <inheritdoc/>
    public int ProbeHeaderSize => 0x44;

    /// <inheritdoc/>
    public bool CanCreate => true;

    /// <inheritdoc/>
    public bool SupportsBackingFiles => false;

    /// <inheritdoc/>
    public int Probe(ReadOnlySpan<byte> header, long fileLength) => VdiHeader.HasSignature(header) ? 100 : 0;

    /// <inheritdoc/>
    public IDiskImage Open(string path, ImageOpenOptions options) => VdiImage.Open(path, options);

    /// <inheritdoc/>
    public ImageCreateOptions ParseCreateOptions(long? size, IReadOnlyDictionary<string, string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = new VdiCreateOptions { Size = size };
        foreach (var (key, value) in options)
        {
            result = key switch
            {
                "size" => result with { Size = SizeText.ParseOption(key, value) },
                "static" => result with { Static = KeyValueOptions.ParseBool(key, value) },
                _ when FileProtocolCreateOption.Accept(key, value) => result,
                _ => throw new InvalidOptionException($"Invalid parameter '{key}'"),
            };
        }

        return result;
    }

    /// <summary>Header, block map (identity for static images, all unallocated otherwise), then the data area.</summary>
    public void Create(string path, ImageCreateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.BackingFile is not null)
        {
            throw new InvalidOptionException("Backing file not supported for file format 'vdi'");
        }

        var size = options.Size ?? throw new InvalidOptionException("Image creation needs a size parameter");
        const ulong maxSize = (ulong)VdiHeader.MaxBlocks * VdiHeader.BlockSize;
        if (size < 0 || (ulong)size > maxSize)
        {
            throw new InvalidOptionException($"Unsupported VDI image size (size is 0x{size:x}, max supported is 0x{maxSize:x})");
        }

        var isStatic = (options as VdiCreateOptions)?.Static == true;
        var bytes = (size + 511) & ~511L;
        var blocks = (uint)((bytes + VdiHeader.BlockSize - 1) / VdiHeader.BlockSize);
        const uint bmapOffset = VdiHeader.Size;
        var bmapBytes = (((long)blocks * 4) + 511) & ~511L;
        var header = new VdiHeader
        {
            ImageType = isStatic ? VdiHeader.TypeStatic : VdiHeader.TypeDynamic,
            OffsetBmap = bmapOffset,
            OffsetData = (uint)(bmapOffset + bmapBytes),
            DiskSize = (ulong)bytes,
            BlocksInImage = blocks,
            BlocksAllocated = isStatic ? blocks : 0,
            UuidImage = Guid.NewGuid(),
            UuidLastSnap = Guid.NewGuid(),
        };

        using var created = NewImageFile.Create(path);
        var file = created.File;
        created.Guard("Error writing header", withErrno: false, () => file.Write(0, header.ToBytes()));
        var chunk = new byte[(int)Math.Min(bmapBytes, 1 << 20)];
        for (long done = 0; done < bmapBytes; done += chunk.Length)
        {
            var n = (int)Math.Min(chunk.Length, bmapBytes - done);
            for (var i = 0; i < n; i += 4)
            {
                var block = (done + i) / 4;
                var entry = block >= blocks ? 0u : isStatic ? (uint)block : 0xffffffffu;
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(chunk.AsSpan(i), entry);
            }

            file.Write(bmapOffset + done, chunk.AsSpan(0, n));
        }

        if (isStatic)
        {
            file.SetLength(header.OffsetData + ((long)blocks * VdiHeader.BlockSize));
        }

        file.Flush();
    }
}
