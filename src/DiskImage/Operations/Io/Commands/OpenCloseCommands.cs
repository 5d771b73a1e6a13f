namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// <c>open [-rsCnkU] [-t cache] [-d discard] [-o options] [path]</c> and <c>close</c>. Of <c>-o</c>'s keys,
/// <c>driver</c> picks the format (the filters <c>copy-on-read</c> and <c>compress</c> act on the node their
/// <c>file.</c> options describe, as in <c>json:</c> names), <c>file.align</c> is checked for a <c>blkdebug:</c> name, qcow2's runtime options apply
/// to the image; the cache and aio choices are checked and otherwise only tune QEMU.
/// </summary>
internal static class OpenCloseCommands
{
    public static readonly QemuIoCommandInfo Open = new("open", "o", "[-rsCnkU] [-t cache] [-d discard] [-o options] [path]",
        "open the file specified by path", 1, -1, RunOpen, QemuIoCommandScope.NoFileOk,
        Help: "Opens an image for the other commands: -r read-only, -s with a temporary overlay, -U sharing the image, -t/-n cache mode, -d discard mode, -o driver=FORMAT.");

    public static readonly QemuIoCommandInfo Close = new("close", "c", null, "close the current open file", 0, 0, RunClose);

    private static int RunOpen(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        var settings = new QemuIoOpenSettings("") { SecretProvider = session.Settings?.SecretProvider ?? session.SecretProvider, DefaultCache = true };
        var readOnly = false;
        bool direct = false, nativeAio = false;
        string? align = null;
        string? fileReference = null;
        var blockOptions = new List<KeyValuePair<string, string?>>();
        var nodeOptions = new List<KeyValuePair<string, string>>();
        var nodeNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var (options, operands) = QemuIoGetopt.Parse(words, "snCro:ki:t:d:U", output);
        var given = options.Count;
        if (session.ImageOptsSyntax && operands.Count == 1)
        {
            // Under --image-opts, qemu-io's open takes its operand as an option list, as the command line's image.
            options.Add(new QemuIoOption('o', operands[0]));
            operands.Clear();
            settings = settings with { NamedByOptions = true };
        }

        var index = 0;

        foreach (var (letter, value) in options)
        {
            if (letter == 'o' && session.ImageOptsSyntax && index < given)
            {
                output.Out("--image-opts and 'open -o' are mutually exclusive");
                return QemuIoErrno.EINVAL;
            }

            index++;
            switch (letter)
            {
                case 's': settings = settings with { Snapshot = true }; break;
                case 'r': readOnly = true; break;
                case 'U': settings = settings with { ForceShare = true }; break;
                case 'C': settings = settings with { CopyOnRead = true }; break;
                case 'n': direct = true; break;
                case 'k': nativeAio = true; break;
                case 't':
                    if (!QemuIoOpenModes.TryCache(value!, out var ignoreFlushes))
                    {
                        output.Error($"Invalid cache option: {value}");
                        return QemuIoErrno.EINVAL;
                    }

                    direct = QemuIoOpenModes.IsDirect(value);

                    settings = settings with { IgnoreFlushes = ignoreFlushes, WriteThrough = QemuIoOpenModes.IsWriteThrough(value), DefaultCache = false };
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

                    nativeAio = value == "native";
                    break;
                case 'o':
                    var pairs = QemuIoArguments.OptionPairs(value!).ToList();
                    Options.FilterNodes.Peeled<string> peeled;
                    try
                    {
                        // Filters on top (copy-on-read, compress) over the node their "file." options describe, read
                        // as json: names and --image-opts lists read them.
                        peeled = Options.FilterNodes.Peel<string>([.. pairs.Select(p => new KeyValuePair<string, string>(p.Key, p.Value))], v => v, v => v);
                    }
                    catch (InvalidOptionException e)
                    {
                        output.Error($"can't open: {e.Message}");
                        return QemuIoErrno.EINVAL;
                    }

                    if (peeled.HadFilters)
                    {
                        settings = settings with { CopyOnRead = settings.CopyOnRead || peeled.CopyOnRead, CopyOnReadFilter = peeled.CopyOnRead, Compress = settings.Compress || peeled.Compress };
                        pairs = [.. peeled.Options.Select(o => (o.Key, o.Value))];
                    }

                    foreach (var (key, text) in pairs)
                    {
                        if (key is "driver" or "format")
                        {
                            settings = settings with { Format = text };
                        }
                        else if (key is "file" or "file.filename" or "filename")
                        {
                            fileReference = key == "file" ? text : fileReference;
                            settings = settings with { Path = text };
                        }
                        else if (key == "file.align")
                        {
                            align = text;
                        }
                        else if (key == "overlap-check.inactive-l2")
                        {
                            settings = settings with { InactiveL2OverlapCheck = text is "on" or "true" };
                        }
                        else if (key == "read-only")
                        {
                            readOnly = text is "on" or "true";
                        }
                        else if (QemuIoOpenSettings.IsNodeName(key))
                        {
                            // Names only matter to a later reopen, which may repeat but not change them.
                            nodeNames[key] = text;
                            continue;
                        }

                        // Beside a path, the options of the image's own node (and backing.driver) apply; the file
                        // node's are left to the path, as before (blkdebug: names carry their own).
                        if (key is not ("read-only" or "driver" or "format" or "file" or "filename")
                            && !key.StartsWith("file.", StringComparison.Ordinal)
                            && (!key.StartsWith("backing.", StringComparison.Ordinal) || key is "backing.driver" or "backing.file.driver" or "backing.file.filename"))
                        {
                            nodeOptions.Add(new(key, text));
                        }

                        if (key != "read-only")
                        {
                            blockOptions.Add(new(key == "format" ? "driver" : key, Options.QemuJson.String(text)));
                        }
                    }

                    break;
                default:
                    return Open.UsageError(output);
            }
        }

        // Without a path operand the image is named by the options alone, and qemu-io's errors then name no device.
        var namedByOptions = operands.Count == 0;
        var operand = operands.Count == 1 ? operands[0] : null;
        var hasFilename = blockOptions.Exists(o => o.Key == "filename");
        var hasFileChild = blockOptions.Exists(o => o.Key == "file" || o.Key.StartsWith("file.", StringComparison.Ordinal));
        if (OpenFilenameOption.RefusalBeforeOpen(settings.Format, operand, hasFilename, hasFileChild) is { } refusal)
        {
            output.Error(operand is null ? $"can't open: {refusal}" : $"can't open device {operand}: {refusal}");
            return QemuIoErrno.EINVAL;
        }

        if (!settings.NamedByOptions && fileReference is not null && OpenFilenameOption.IsNull(settings.Format))
        {
            // A protocol node has no file child: the option is one it does not have.
            output.Error($"can't open{(operand is null ? "" : " device " + operand)}: Block protocol '{settings.Format}' doesn't support the option 'file'");
            return QemuIoErrno.EINVAL;
        }

        if (!settings.NamedByOptions && fileReference is { } name)
        {
            // A string "file" among open's options names an existing node, which a fresh qemu-io never has.
            output.Error(operand is null ? $"can't open: Cannot find device='{name}' nor node-name='{name}'"
                : $"can't open device {operand}: Cannot reference an existing block device with additional options or a new filename");
            return QemuIoErrno.EINVAL;
        }

        if (OpenFilenameOption.IsNull(settings.Format))
        {
            // A null node is named by its options (its URL, checked above, adds nothing to them).
            settings = settings with { NameForErrors = operand, Path = Options.JsonFilename.Prefix + Options.QemuJson.Object(blockOptions, ordered: true), Format = null };
            operands.Clear();
        }

        var filenameLeftOver = OpenFilenameOption.LeftOver(settings.Format, operand ?? (hasFileChild ? "" : null), hasFilename);
        if (settings.Format == "blkdebug")
        {
            // A blkdebug node above the format: its file name (blkdebug:CONFIG:PATH) joins the -o options, and the
            // whole node is described as a json: name is.
            if (operands.Count == 1 && !IO.Blkdebug.BlkdebugName.IsBlkdebug(operands[0]))
            {
                // A path without the prefix is the image itself (QEMU's x-image); the rules are in the options.
                blockOptions.Add(new("x-image", Options.QemuJson.String(operands[0])));
                settings = settings with { NameForErrors = operands[0] };
                operands.Clear();
            }
            else if (operands.Count == 1)
            {
                string? config, path;
                try
                {
                    (config, path) = IO.Blkdebug.BlkdebugName.Split(operands[0]);
                }
                catch (InvalidOptionException e)
                {
                    output.Error($"can't open device {operands[0]}: {e.Message}");
                    return QemuIoErrno.EINVAL;
                }

                if (config is not null)
                {
                    blockOptions.Add(new("config", Options.QemuJson.String(config)));
                }

                blockOptions.Add(new("x-image", Options.QemuJson.String(path)));
                settings = settings with { NameForErrors = operands[0] };
                operands.Clear();
            }

            settings = settings with { Path = Options.JsonFilename.Prefix + Options.QemuJson.Object(blockOptions, ordered: true), Format = null };
        }
        else if (operands.Count == 0 && (settings.Path.Length == 0 || Options.BlockSpec.IsHostProtocol(settings.Format)
            || OpenFilenameOption.IsRemote(settings.Format)
            || blockOptions.Exists(o => o.Key is not ("driver" or "file" or "file.filename" or "filename"))))
        {
            // Options beyond a format and a file name (stacked formats, a raw window), or without any file name, describe
            // the image as a json: name does; it carries its own driver (and its complaint about what is missing). A
            // remote driver reads only its own options (a "filename" option is not its address), so it is described so too.
            settings = settings with { Path = Options.JsonFilename.Prefix + Options.QemuJson.Object(blockOptions, ordered: true), Format = null };
        }

        if (operands.Count > 1)
        {
            return Open.UsageError(output);
        }

        if (operands.Count == 1)
        {
            // Options beside a path configure its nodes (qcow2's cache sizes, lazy refcounts...).
            settings = settings with { Path = operands[0], NodeOptions = nodeOptions };
        }

        settings = settings with { NodeNames = nodeNames };

        // file.align, the request alignment of a blkdebug: node, is checked as qemu checks it. Requests are not split
        // by it here, which changes no data (only how QEMU pads its requests); it places the breakpoint events.
        if (align is not null)
        {
            if (!QemuIoNumber.TryParse(align, out var alignment))
            {
                output.Error($"can't open device {settings.Path}: Parameter 'align' expects a non-negative number below 2^64");
                output.Diagnostic("Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-");
                output.Diagnostic("and exabytes, respectively.");
                return QemuIoErrno.EINVAL;
            }

            if (IO.Blkdebug.BlkdebugName.CheckAlign(alignment) is { } complaint)
            {
                output.Error($"can't open device {settings.Path}: {complaint}");
                return QemuIoErrno.EINVAL;
            }

            settings = settings with { BlkdebugAlign = alignment };
        }

        if (nativeAio && !direct && session.Image is null)
        {
            // The file node refuses Linux AIO without O_DIRECT once it has opened its file (a file it cannot open is
            // reported instead), before any format is probed over it.
            var probe = new QemuIoOutput();
            if (!session.Open(settings with { ReadOnly = readOnly, NamedByOptions = namedByOptions }, probe))
            {
                output.AddRange(probe.Lines);
                return QemuIoErrno.EINVAL;
            }

            session.Close();
            const string reason = "aio=native was specified, but it requires cache.direct=on, which was not specified.";
            output.Error(namedByOptions ? $"can't open: {reason}" : $"can't open device {settings.NameForErrors ?? settings.Path}: {reason}");
            return QemuIoErrno.EINVAL;
        }

        if (!session.Open(settings with { ReadOnly = readOnly, NamedByOptions = namedByOptions }, output))
        {
            return QemuIoErrno.EINVAL;
        }

        if (filenameLeftOver && session.Image is { } opened)
        {
            // The format opened over the path has no use for the option, which QEMU refuses once the node is open.
            var format = opened.Format.Name;
            session.Close();
            output.Error($"can't open{(operand is null ? "" : " device " + operand)}: Block format '{format}' does not support the option 'filename'");
            return QemuIoErrno.EINVAL;
        }

        return 0;
    }

    private static int RunClose(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        session.Close(output);
        return 0;
    }
}
