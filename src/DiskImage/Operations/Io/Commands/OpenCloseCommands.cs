namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// <c>open [-rsCnkU] [-t cache] [-d discard] [-o options] [path]</c> and <c>close</c>. Of <c>-o</c>'s keys,
/// <c>driver</c> picks the format; the cache and aio choices are checked and otherwise only tune QEMU.
/// </summary>
internal static class OpenCloseCommands
{
    public static readonly QemuIoCommandInfo Open = new("open", "o", "[-rsCnkU] [-t cache] [-d discard] [-o options] [path]",
        "open the file specified by path", 1, -1, RunOpen, QemuIoCommandScope.NoFileOk,
        Help: "Opens an image for the other commands: -r read-only, -s with a temporary overlay, -U sharing the image, -t/-n cache mode, -d discard mode, -o driver=FORMAT.");

    public static readonly QemuIoCommandInfo Close = new("close", "c", null, "close the current open file", 0, 0, RunClose);

    private static int RunOpen(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        var settings = new QemuIoOpenSettings("") { SecretProvider = session.Settings?.SecretProvider };
        var readOnly = false;
        var (options, operands) = QemuIoGetopt.Parse(words, "snCro:ki:t:d:U", output);
        foreach (var (letter, value) in options)
        {
            switch (letter)
            {
                case 's': settings = settings with { Snapshot = true }; break;
                case 'r': readOnly = true; break;
                case 'U': settings = settings with { ForceShare = true }; break;
                case 'n' or 'C' or 'k': break;
                case 't':
                    if (!QemuIoOpenModes.TryCache(value!, out var ignoreFlushes))
                    {
                        output.Error($"Invalid cache option: {value}");
                        return QemuIoErrno.EINVAL;
                    }

                    settings = settings with { IgnoreFlushes = ignoreFlushes };
                    break;
                case 'd':
                    if (!QemuIoOpenModes.TryDiscard(value!, out var ignoreDiscards))
                    {
                        output.Error($"Invalid discard option: {value}");
                        return QemuIoErrno.EINVAL;
                    }

                    settings = settings with { IgnoreDiscards = ignoreDiscards };
                    break;
                case 'i':
                    if (!QemuIoOpenModes.IsAio(value!))
                    {
                        output.Error($"Invalid aio option: {value}");
                        return QemuIoErrno.EINVAL;
                    }

                    break;
                case 'o':
                    foreach (var (key, text) in QemuIoArguments.OptionPairs(value!))
                    {
                        if (key is "driver" or "format")
                        {
                            settings = settings with { Format = text };
                        }
                        else if (key is "file" or "file.filename" or "filename")
                        {
                            settings = settings with { Path = text };
                        }
                        else if (key == "read-only")
                        {
                            readOnly = text is "on" or "true";
                        }
                    }

                    break;
                default:
                    return Open.UsageError(output);
            }
        }

        if (operands.Count > 1 || (operands.Count == 0 && settings.Path.Length == 0))
        {
            return Open.UsageError(output);
        }

        if (operands.Count == 1)
        {
            settings = settings with { Path = operands[0] };
        }

        return session.Open(settings with { ReadOnly = readOnly }, output) ? 0 : QemuIoErrno.EINVAL;
    }

    private static int RunClose(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        session.Close();
        return 0;
    }
}
