namespace DiskImage.Operations.Io.Commands;

/// <summary><c>flush</c> makes completed writes durable; <c>aio_flush</c> lets outstanding requests complete.</summary>
internal static class FlushCommands
{
    public static readonly QemuIoCommandInfo Flush = new("flush", "f", null, "flush all in-core file state to disk", 0, 0, RunFlush);

    public static readonly QemuIoCommandInfo AioFlush = new("aio_flush", null, null, "completes all outstanding aio requests", 0, 0, (_, _, output) =>
    {
        output.Drain();
        return 0;
    });

    private static int RunFlush(QemuIoSession session, string[] words, QemuIoOutput output)
    {
        output.Drain();
        try
        {
            session.Image!.Flush();
            return 0;
        }
        catch (Exception e) when (QemuIoErrno.IsIoFailure(e))
        {
            return QemuIoErrno.From(e);
        }
    }
}
