namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// <c>aio_read [-Ciqv] [-P pattern] off len [len..]</c>. Completes before the next command starts, so its
/// report comes where a script's next <c>aio_flush</c> would have let qemu-io print it; like qemu-io's, it
/// counts as successful whatever the data.
/// </summary>
internal static class AioReadCommand
{
    public static readonly QemuIoCommandInfo Info = new("aio_read", null, "[-Ciqv] [-P pattern] off len [len..]",
        "asynchronously reads a number of bytes", 2, -1, Run,
        Help: "Reads like readv; the request completes at once here. -i only prints that an invalid request was injected.");

    private static int Run(QemuIoSession session, string[] words, QemuIoOutput output) =>
        ReadvCommand.VectoredRead(session, words, output, Info, "CP:iqv", aio: true);
}
