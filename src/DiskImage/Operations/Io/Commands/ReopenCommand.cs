namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// <c>reopen [(-r|-w)] [-c cache] [-o options]</c>: opens the image again read-only or read-write, or with
/// another cache mode. Of <c>-o</c>'s keys, <c>read-only</c> is honoured and the cache keys are accepted.
/// </summary>
internal static class ReopenCommand
{
    public static readonly QemuIoCommandInfo Info = new("reopen", null, "[(-r|-w)] [-c cache] [-o options]",
        "reopens an image with new options", 0, -1, Run,
        Help: "Opens the image again: -r read-only, -w read-write, -c a cache mode, -o read-only=on|off.");

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        var settings = session.Settings;
        if (settings is null)
        {
            output.Error("Cannot reopen this image");
            return QemuIoErrno.EINVAL;
        }

        bool? readOnly = null;
        bool? optionReadOnly = null;
        var hasCache = false;
        var (options, operands) = QemuIoGetopt.Parse(words, "c:o:rw", output);
        foreach (var (letter, value) in options)
        {
            switch (letter)
            {
                case 'c':
                    if (!QemuIoOpenModes.TryCache(value!, out var ignoreFlushes))
                    {
                        output.Error($"Invalid cache option: {value}");
                        return QemuIoErrno.EINVAL;
                    }

                    hasCache = true;
                    settings = settings with { IgnoreFlushes = ignoreFlushes, WriteThrough = QemuIoOpenModes.IsWriteThrough(value) };
                    break;
                case 'r' or 'w':
                    if (readOnly is not null)
                    {
                        output.Error("Only one -r/-w option may be given");
                        return QemuIoErrno.EINVAL;
                    }

                    readOnly = letter == 'r';
                    break;
                case 'o':
                    foreach (var (key, text) in QemuIoArguments.OptionPairs(value!))
                    {
                        if (key == "read-only")
                        {
                            optionReadOnly = text is "on" or "true";
                        }
                        else if (key is "cache.direct" or "cache.no-flush" && hasCache)
                        {
                            output.Error("Cannot set both -c and the cache options");
                            return QemuIoErrno.EINVAL;
                        }
                    }

                    break;
                default:
                    return Info.UsageError(output);
            }
        }

        if (operands.Count != 0)
        {
            return Info.UsageError(output);
        }

        if (optionReadOnly is not null && readOnly is not null)
        {
            output.Error("Cannot set both -r/-w and 'read-only'");
            return QemuIoErrno.EINVAL;
        }

        var wanted = settings with { ReadOnly = optionReadOnly ?? readOnly ?? settings.ReadOnly };
        return session.Reopen(wanted, output) ? 0 : QemuIoErrno.EINVAL;
    }
}
