using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Raw;
using DiskImage.Formats;
using DiskImage.IO;
using DiskImage.Options;

namespace DiskImage.Operations.Resize;

/// <summary>Changes an image's virtual size (qemu-img resize) for raw and qcow2 images.</summary>
public static class ImageResizer
{
    /// <summary>Resizes; a shrink needs <see cref="ResizeOptions.Shrink"/>, as qemu-img's <c>--shrink</c>.</summary>
    /// <param name="options">The image, the new size and how to fill or drop space.</param>
    public static ResizeResult Resize(ResizeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var image = ImageFormatRegistry.Default.Open(options.Path, options.Format,
            new ImageOpenOptions
            {
                ReadOnly = false,
                Permissions = LockPermissions.ConsistentRead | LockPermissions.Write | LockPermissions.Resize,
                SecretProvider = options.SecretProvider,
                KeySecret = options.KeySecret,
            });
        var oldSize = image.Length;
        var newSize = TargetSize(options.Size, oldSize);
        if (newSize <= oldSize && options.Preallocation != Preallocation.Off)
        {
            throw new InvalidOptionException("Preallocation can only be used for growing images");
        }

        if (newSize < oldSize && !options.Shrink)
        {
            throw new InvalidOptionException(
                "Use the --shrink option to perform a shrink operation.\nwarning: Shrinking an image will delete all data beyond the shrunken image's end. "
                + "Before performing such an operation, make sure there is no important data there.");
        }

        switch (image)
        {
            case Qcow2Image qcow2:
                qcow2.Resize(newSize, options.Preallocation);
                break;
            case RawImage raw:
                ResizeRaw(raw, oldSize, newSize, options.Preallocation);
                break;
            case Formats.Luks.LuksImage luks:
                luks.Resize(newSize, options.Preallocation);
                break;
            case Formats.Qed.QedImage qed:
                qed.Resize(newSize, options.Preallocation);
                break;
            default:
                throw new UnsupportedFeatureException("Image format driver does not support resize");
        }

        return new ResizeResult(oldSize, newSize);
    }

    /// <summary>Resolves <c>SIZE</c>, <c>+SIZE</c> or <c>-SIZE</c> against the current size, with qemu-img's errors.</summary>
    public static long TargetSize(string text, long currentSize)
    {
        var (relative, value) = ReadSize(text);
        // As qemu-img: the size is read as an unsigned 64-bit number and used as a signed one, so 8E and beyond wrap
        // below zero and are refused as not positive.
        var size = unchecked(relative == 0 ? (long)value : currentSize + (long)value * relative);
        if (size <= 0)
        {
            throw new InvalidOptionException("New image size must be positive");
        }

        return size;
    }

    /// <summary>Checks <c>[+|-]SIZE</c> as qemu-img reads it before it opens the image.</summary>
    public static void CheckSizeSyntax(string text) => ReadSize(text);

    private static (int Relative, ulong Value) ReadSize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var relative = text.Length > 0 && text[0] is '+' ? 1 : text.Length > 0 && text[0] is '-' ? -1 : 0;
        var number = relative == 0 ? text : text[1..];
        if (SizeText.TryParse(number, out var value))
        {
            return (relative, (ulong)value);
        }

        if (SizeText.TryParseUnsigned(number, out var wide))
        {
            return (relative, wide);
        }

        if (SizeText.IsWellFormed(number))
        {
            throw new InvalidOptionException($"Value '{number}' is out of range for parameter 'size'");
        }

        throw new InvalidOptionException(
            "Parameter 'size' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.");
    }

    internal static void ResizeRaw(RawImage raw, long oldSize, long newSize, Preallocation preallocation)
    {
        if (raw.File is Formats.Filters.SnapshotAccessStorage)
        {
            // Its driver cannot resize, even to the same size.
            throw new UnsupportedFeatureException("Image format driver does not support resize");
        }

        if (preallocation == Preallocation.Metadata)
        {
            throw new InvalidOptionException("Unsupported preallocation mode: metadata");
        }

        if (newSize < oldSize && preallocation != Preallocation.Off)
        {
            throw new InvalidOptionException("Preallocation can only be used for growing images");
        }

        if (raw.File is IO.HostFile host && IO.FileIdentity.Of(host.Path) is { Kind: IO.FileKind.BlockDevice or IO.FileKind.CharacterDevice })
        {
            // As QEMU's host_device driver: a device keeps its length; resizing it to anything else is refused.
            if (preallocation != Preallocation.Off)
            {
                throw new InvalidOptionException($"Preallocation mode '{preallocation.ToString().ToLowerInvariant()}' unsupported for this non-regular file");
            }

            if (newSize != host.Length)
            {
                throw new UnsupportedFeatureException("Cannot resize device files");
            }

            return;
        }

        if (raw.File is Formats.Raw.WindowStorage { FixedSize: true })
        {
            throw new UnsupportedFeatureException("Cannot resize fixed-size raw disks");
        }

        var wasEmpty = raw.File.Length == 0;
        try
        {
            RawPreallocator.Extend(raw.File, oldSize, newSize, preallocation);
        }
        catch (FileTooLargeException e) when (e.Message == "File too large")
        {
            // QEMU's file driver names the step that met EFBIG: reserving the space (falloc), else the new length.
            throw new FileTooLargeException(
                preallocation == Preallocation.Falloc ? "Could not preallocate new data: File too large" : "Could not resize file: File too large", e);
        }

        if (wasEmpty && preallocation != Preallocation.Full)
        {
            RawPreallocator.AllocateFirstBlock(raw.File, newSize);
        }

        raw.File.Flush();
    }
}
