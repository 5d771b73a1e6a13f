namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// <c>reopen [(-r|-w)] [-c cache] [-o options]</c>: opens the image again read-only or read-write, or with
/// another cache mode. Of <c>-o</c>'s keys, <c>read-only</c> is honoured, node names and drivers may be repeated but not
/// changed, the cache keys are checked, and the format's own options (qcow2's <c>lazy-refcounts</c>, cache sizes,
/// overlap checks) apply from then on, as QEMU applies them.
/// </summary>
internal static class ReopenCommand
{
    public static readonly QemuIoCommandInfo Info = new("reopen", null, "[(-r|-w)] [-c cache] [-o options]",
        "reopens an image with new options", 0, -1, Run,
        Help: "Opens the image again: -r read-only, -w read-write, -c a cache mode, -o read-only=on|off or the format's options.");

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
        var given = new List<KeyValuePair<string, string>>();
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
                    settings = settings with { IgnoreFlushes = ignoreFlushes, WriteThrough = QemuIoOpenModes.IsWriteThrough(value), DirectIo = QemuIoOpenModes.IsDirect(value) };
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
                    given.AddRange(QemuIoArguments.OptionPairs(value!).Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));
                    break;
                default:
                    return Info.UsageError(output);
            }
        }

        if (operands.Count != 0)
        {
            return Info.UsageError(output);
        }

        if (readOnly ?? settings.ReadOnly)
        {
            // qemu-io drops its own device's write permission before any reopen that leaves the image read-only.
            session.HoldsWriter = false;
        }

        if (given.Exists(o => o.Key == "read-only") && readOnly is not null)
        {
            output.Error("Cannot set both -r/-w and 'read-only'");
            return QemuIoErrno.EINVAL;
        }

        if (hasCache && given.Exists(o => o.Key is "cache.direct" or "cache.no-flush"))
        {
            output.Error("Cannot set both -c and the cache options");
            return QemuIoErrno.EINVAL;
        }

        var nodeOptions = new List<KeyValuePair<string, string>>();
        try
        {
            // The block layer's own options are read first, then what may not change is compared, as in QEMU.
            foreach (var (key, text) in given)
            {
                if (QemuIoOpenSettings.IsGenericBool(key))
                {
                    var on = Options.KeyValueOptions.ParseBool(key, text);
                    if (key == "read-only")
                    {
                        optionReadOnly = on;
                    }
                    else if (key == "cache.direct")
                    {
                        settings = settings with { DirectIo = on };
                    }
                    else if (key == "force-share" && !(on && settings.ForceShare))
                    {
                        // Only an image opened with force-share has the option set, to the same value.
                        throw new InvalidOptionException("Cannot change the option 'force-share'");
                    }
                }
            }

            foreach (var (key, text) in given)
            {
                if (QemuIoOpenSettings.IsGenericBool(key))
                {
                    continue;
                }

                if (key == "detect-zeroes")
                {
                    // The block layer's own options: checked, and changing nothing here.
                    _ = text is "off" or "on" or "unmap" ? 0 : throw new InvalidOptionException($"invalid parameter value: {text}");
                }
                else if (key == "discard")
                {
                    _ = QemuIoOpenModes.TryDiscard(text, out _) ? 0 : throw new InvalidOptionException("Invalid discard option");
                }
                else if (QemuIoOpenSettings.IsNodeName(key))
                {
                    if (!settings.NodeNames.TryGetValue(key, out var name) || name != text)
                    {
                        throw new InvalidOptionException("Cannot change the option 'node-name'");
                    }
                }
                else if (key is "driver" or "file.driver" or "backing.driver")
                {
                    if (CurrentDriver(session, settings, key) is { } driver && driver != text)
                    {
                        throw new InvalidOptionException("Cannot change the option 'driver'");
                    }
                }
                else
                {
                    nodeOptions.Add(new(key, text));
                }
            }
        }
        catch (InvalidOptionException e)
        {
            output.Error(e.Message);
            return QemuIoErrno.EINVAL;
        }

        var wanted = settings.WithNodeOptions(nodeOptions) with { ReadOnly = optionReadOnly ?? readOnly ?? settings.ReadOnly };
        if (optionReadOnly == true && session.HoldsWriter)
        {
            // With the option alone (no -r) qemu-io's device keeps asking for write access, which the node refuses
            // once the other options passed: they are tried as they are, then the image goes back as it was.
            var before = session.Settings!;
            if (!session.Reopen(wanted with { ReadOnly = before.ReadOnly }, output))
            {
                return QemuIoErrno.EINVAL;
            }

            session.Reopen(before, new QemuIoOutput());
            output.Error($"Read-only block node '{session.TopNodeName}' cannot support read-write users");
            return QemuIoErrno.EINVAL;
        }

        return session.Reopen(wanted, output) ? 0 : QemuIoErrno.EINVAL;
    }

    /// <summary>The driver of the node <paramref name="key"/> names; null when there is no such node.</summary>
    private static string? CurrentDriver(QemuIoSession session, QemuIoOpenSettings settings, string key) => key switch
    {
        "driver" => session.Image?.Format.Name,
        "backing.driver" => session.Image?.Backing?.Format.Name,
        _ => IO.Blkdebug.BlkdebugName.IsBlkdebug(settings.Path) ? "blkdebug" : Nbd.Client.NbdUri.IsNbd(settings.Path) ? "nbd" : "file",
    };
}
