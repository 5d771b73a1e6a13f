using DiskImage.Formats.Qcow2;

namespace DiskImage.Operations.Io.Commands;

/// <summary><c>info</c>: format name, cluster size, VM state offset and, for qcow2, qemu's format-specific block.</summary>
internal static class InfoCommand
{
    public static readonly QemuIoCommandInfo Info = new("info", "i", null, "prints information about the current file", 0, 0, Run);

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        var info = session.Image!.GetInfo();
        var clusterSize = info.ClusterSize ?? 0;
        var qcow2 = info.FormatSpecific as Qcow2SpecificInfo;

        // A filter over a format node (throttle over qcow2) answers with that node's driver information.
        var driverInfo = session.Image is Formats.Raw.RawImage { Filtered: { } filtered } ? filtered.GetInfo() : info;

        // qcow2 keeps VM state right after the guest data, at the first L1 entry past the disk.
        var vmStateOffset = 0L;
        if (driverInfo.Format == "qcow2" && clusterSize > 0)
        {
            var extendedL2 = (driverInfo.FormatSpecific as Qcow2SpecificInfo)?.ExtendedL2 == true;
            var bytesPerL1Entry = (long)clusterSize * (clusterSize / (extendedL2 ? 16 : 8));
            vmStateOffset = Measure.Qcow2Layout.DivideRoundingUp(driverInfo.VirtualSize, bytesPerL1Entry) * bytesPerL1Entry;
        }

        if (IsBlkdebugNode(session.Settings))
        {
            // The debug node names itself as format and as protocol; its driver information is the image's below it,
            // and it has no format-specific block of its own.
            output.Out("format name: blkdebug");
            output.Out("format name: blkdebug");
            output.Out($"cluster size: {QemuIoText.Size(clusterSize)}");
            output.Out($"vm state offset: {QemuIoText.Size(vmStateOffset)}");
            return 0;
        }

        output.Out($"format name: {info.Format}");
        if (session.Image is Formats.Raw.RawImage { File: Formats.Vvfat.VvfatStorage })
        {
            // vvfat has no driver information (raw above it asks it); as the format it names its protocol ("fat") too.
            if (session.Image.Format is Formats.Vvfat.VvfatFormat)
            {
                output.Out("format name: fat");
            }

            return QemuIoErrno.ENOTSUP;
        }

        if (session.Image.Format is Formats.Filters.FilterDriverFormat { Name: "snapshot-access" })
        {
            // The driver has no driver information.
            return QemuIoErrno.ENOTSUP;
        }

        if (session.Image.Format is Formats.Null.NullFormat or Formats.Parallels.ParallelsFormat)
        {
            // The null and parallels drivers have no driver information, so the command ends there with ENOTSUP,
            // silently, as in qemu-io; a protocol driver's name (null's) is printed a second time first.
            if (session.Image.Format is Formats.Null.NullFormat)
            {
                output.Out($"format name: {info.Format}");
            }

            return QemuIoErrno.ENOTSUP;
        }

        if (session.Image is Formats.Raw.RawImage { File: Formats.Null.NullStorage or IO.Blkdebug.BlkdebugStorage { Inner: Formats.Null.NullStorage } or Formats.Raw.ImageStorage { Image.Format: Formats.Raw.ProtocolFormat { Name: "host_cdrom" } or Formats.Null.NullFormat } })
        {
            // raw asks its file node for the driver information, which host_cdrom and the null drivers do not have
            // (ENOTSUP, silently); a blkdebug node between passes the question on.
            return QemuIoErrno.ENOTSUP;
        }

        if (session.Image.Format is Formats.Raw.ProtocolFormat { Name: "file" or "host_device" or "host_cdrom" } protocol)
        {
            // QEMU's host drivers name themselves as format and as protocol; host_cdrom has no driver information,
            // so it stops there (ENOTSUP, silently).
            output.Out($"format name: {protocol.Name}");
            if (protocol.Name == "host_cdrom")
            {
                return QemuIoErrno.ENOTSUP;
            }
        }

        output.Out($"cluster size: {QemuIoText.Size(clusterSize)}");
        output.Out($"vm state offset: {QemuIoText.Size(vmStateOffset)}");
        if (qcow2 is not null)
        {
            foreach (var line in Qcow2Lines(qcow2))
            {
                output.Out(line);
            }
        }
        else if (info.FormatSpecific is Formats.Luks.LuksSpecificInfo luks)
        {
            foreach (var line in LuksLines(luks.Encryption))
            {
                output.Out(line);
            }
        }

        return 0;
    }

    /// <summary>Whether the open image's top node is a <c>blkdebug</c> node (<c>-f blkdebug</c>, or a <c>json:</c> name with one above the format).</summary>
    private static bool IsBlkdebugNode(QemuIoOpenSettings? settings) =>
        settings is not null && (settings.Format == "blkdebug"
            || settings.Format is null && Options.JsonFilename.IsJson(settings.Path) && Options.BlockSpec.FromJson(settings.Path).TopBlkdebugName is not null);

    /// <summary>The "Format specific information" block qemu prints for qcow2; version-3-only fields are absent for version 2.</summary>
    private static IEnumerable<string> Qcow2Lines(Qcow2SpecificInfo qcow2)
    {
        yield return "Format specific information:";
        yield return $"    compat: {qcow2.Compat}";
        yield return $"    compression type: {qcow2.CompressionType}";
        if (qcow2.LazyRefcounts is { } lazy)
        {
            yield return $"    lazy refcounts: {Bool(lazy)}";
        }

        yield return $"    refcount bits: {qcow2.RefcountBits}";
        if (qcow2.Encrypt is { } encrypt)
        {
            yield return "    encrypt:";
            foreach (var line in EncryptionLines(encrypt, "        ", withFormat: true))
            {
                yield return line;
            }
        }

        if (qcow2.DataFile is not null)
        {
            yield return $"    data file: {qcow2.DataFile}";
        }

        if (qcow2.DataFileRaw is { } raw)
        {
            yield return $"    data file raw: {Bool(raw)}";
        }

        if (qcow2.Corrupt is { } corrupt)
        {
            yield return $"    corrupt: {Bool(corrupt)}";
        }

        if (qcow2.ExtendedL2 is { } extended)
        {
            yield return $"    extended l2: {Bool(extended)}";
        }
    }

    /// <summary>The block qemu prints for a luks image: the header's fields in QEMU's order, then every key slot.</summary>
    private static IEnumerable<string> LuksLines(Crypto.EncryptionInfo luks) =>
        ["Format specific information:", .. EncryptionLines(luks, "    ", withFormat: false)];

    /// <summary>
    /// The encryption header's fields at <paramref name="indent"/>: a luks image's own, or qcow2's <c>encrypt</c> object,
    /// which also names its format.
    /// </summary>
    private static IEnumerable<string> EncryptionLines(Crypto.EncryptionInfo luks, string indent, bool withFormat)
    {
        // Absent fields (all but the format of a legacy AES header) are left out, as QEMU leaves them.
        (string Name, string? Value)[] header =
        [
            ("ivgen alg", luks.IvgenAlg), ("hash alg", luks.HashAlg), ("cipher alg", luks.CipherAlg), ("uuid", luks.Uuid),
            ("ivgen hash alg", luks.IvgenHashAlg), ("format", withFormat ? luks.Format : null), ("cipher mode", luks.CipherMode),
        ];
        foreach (var (name, value) in header.Where(f => f.Value is not null))
        {
            yield return $"{indent}{name}: {value}";
        }

        if (luks.Slots.Count > 0)
        {
            yield return $"{indent}slots:";
        }

        for (var i = 0; i < luks.Slots.Count; i++)
        {
            var slot = luks.Slots[i];
            yield return $"{indent}    [{i}]:";
            yield return $"{indent}        active: {Bool(slot.Active)}";
            if (slot.Iters is { } iters)
            {
                yield return $"{indent}        iters: {iters}";
            }

            yield return $"{indent}        key offset: {slot.KeyOffset}";
            if (slot.Stripes is { } stripes)
            {
                yield return $"{indent}        stripes: {stripes}";
            }
        }

        if (luks.PayloadOffset is { } payload)
        {
            yield return $"{indent}payload offset: {payload}";
        }

        if (luks.MasterKeyIters is { } masterKeyIters)
        {
            yield return $"{indent}master key iters: {masterKeyIters}";
        }
    }

    private static string Bool(bool value) => value ? "true" : "false";
}
