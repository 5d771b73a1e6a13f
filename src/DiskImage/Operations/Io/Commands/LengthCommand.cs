namespace DiskImage.Operations.Io.Commands;

/// <summary><c>length</c>: the virtual size, as qemu-io prints sizes.</summary>
internal static class LengthCommand
{
    public static readonly QemuIoCommandInfo Info = new("length", "l", null, "gets the length of the current file", 0, 0, Run);

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        output.Out(QemuIoText.Size(session.Image!.Length));
        return 0;
    }
}
