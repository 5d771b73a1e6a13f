using DiskImage.Formats;
using DiskImage.Formats.Qcow2;
using DiskImage.Formats.Raw;

namespace DiskImage.Operations.Io.Commands;

/// <summary><c>truncate [-m prealloc_mode] off</c>: grows or shrinks the image (raw, qcow2 and luks), as qemu-io's strict (exact) truncate.</summary>
internal static class TruncateCommand
{
    public static readonly QemuIoCommandInfo Info = new("truncate", "t", "[-m prealloc_mode] off",
        "truncates the current file at the given offset", 1, 3, Run, NeedsWrite: true);

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        var preallocation = Preallocation.Off;
        var (options, operands) = QemuIoGetopt.Parse(words, "m:", output);
        foreach (var (letter, value) in options)
        {
            if (letter != 'm')
            {
                return Info.UsageError(output);
            }

            if (ParseMode(value!) is not { } mode)
            {
                output.Error($"Invalid preallocation mode '{value}'");
                return QemuIoErrno.EINVAL;
            }

            preallocation = mode;
        }

        // qemu-io reads the first operand and names the first word in a parsing error.
        if (operands.Count == 0)
        {
            return Info.UsageError(output);
        }

        var status = QemuIoNumber.Read(operands[0], out var size, out var hexWithSuffix);
        if (hexWithSuffix)
        {
            output.Error(QemuIoNumber.HexSuffixWarning(operands[0]));
        }

        if (status != QemuIoNumberStatus.Valid)
        {
            output.Out(QemuIoNumber.ErrorFor(status, words[1]));
            return QemuIoErrno.EINVAL;
        }

        if (LengthCommand.NoMedium(session.Image!))
        {
            // QEMU's block backend refuses a resize without a medium before the driver sees it.
            output.Error("No medium inserted");
            return -ErrnoException.ENOMEDIUM;
        }

        output.Poll();
        try
        {
            Resize(session, size, preallocation, output);
            return 0;
        }
        catch (Exception e) when (QemuIoErrno.IsIoFailure(e))
        {
            output.Error(e.Message.ReplaceLineEndings(" ").Trim());
            return QemuIoErrno.From(e);
        }
    }

    private static void Resize(QemuIoSession session, long size, Preallocation preallocation, QemuIoOutput output)
    {
        switch (session.Image)
        {
            case Qcow2Image qcow2:
                if (size % 512 != 0)
                {
                    throw new InvalidOptionException("The new size must be a multiple of 512");
                }

                qcow2.Resize(size, preallocation);
                break;
            case RawImage { File: Formats.Filters.LogWrites.LogWritesStorage log } logged when preallocation == Preallocation.Off:
                // blklogwrites has no resize of its own: the block layer passes it to the file and counts it among the
                // node's changes (a later flush is logged), and the node stays open with its log.
                log.SetLength(size);
                logged.RefreshLength();
                break;
            case RawImage raw:
                Operations.Resize.ImageResizer.ResizeRaw(raw, raw.Length, size, preallocation);

                // A raw image keeps its length from opening: open it again to see the new one.
                session.Reopen(session.Settings!, output);
                break;
            case Formats.Luks.LuksImage luks:
                // The payload follows the file's length, so the new size shows at once.
                luks.Resize(size, preallocation);
                break;
            case Formats.Qed.QedImage qed:
                qed.Resize(size, preallocation);
                break;
            default:
                throw new UnsupportedFeatureException("Image format driver does not support resize");
        }
    }

    private static Preallocation? ParseMode(string text) => text switch
    {
        "off" => Preallocation.Off,
        "metadata" => Preallocation.Metadata,
        "falloc" => Preallocation.Falloc,
        "full" => Preallocation.Full,
        _ => null,
    };
}
