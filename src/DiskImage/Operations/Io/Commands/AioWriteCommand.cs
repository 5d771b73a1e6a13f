namespace DiskImage.Operations.Io.Commands;

/// <summary><c>aio_write [-Cfiquz] [-P pattern] off len [len..]</c>; completes before the next command starts.</summary>
internal static class AioWriteCommand
{
    public static readonly QemuIoCommandInfo Info = new("aio_write", null, "[-Cfiquz] [-P pattern] off len [len..]",
        "asynchronously writes a number of bytes", 2, -1, Run, NeedsWrite: true,
        Help: "Writes like writev (or zeroes with -z, unmapping with -u); the request completes at once here.");

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output) =>
        WritevCommand.VectoredWrite(session, words, output, Info, "CfiqP:uz", aio: true);
}
