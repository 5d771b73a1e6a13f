namespace DiskImage.Operations.Io.Commands;

/// <summary><c>length</c>: the virtual size, as qemu-io prints sizes.</summary>
internal static class LengthCommand
{
    public static readonly QemuIoCommandInfo Info = new("length", "l", null, "gets the length of the current file", 0, 0, Run);

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        if (NoMedium(session.Image!))
        {
            output.Out("getlength: No medium found");
            return -ErrnoException.ENOMEDIUM;
        }

        output.Out(QemuIoText.Size(session.Image!.Length));
        return 0;
    }

    /// <summary>QEMU's block backend has no medium once a fatal qcow2 corruption event dropped the node's driver, and
    /// while a <c>host_cdrom</c> drive holds no disc.</summary>
    public static bool NoMedium(Formats.IDiskImage image) =>
        (image is IO.Blkdebug.BlkdebugImage filter ? filter.Image : image) is Formats.Qcow2.Qcow2Image { DriverDropped: true } or Formats.Raw.RawImage { HasMedium: false };
}
