namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// <c>break</c>, <c>remove_break</c>, <c>resume</c> and <c>wait_break</c>: QEMU's blkdebug breakpoints. A raw image
/// opened through <c>blkdebug::PATH</c> has them (<see cref="BlkdebugBreakpoints"/>); on any other image they fail
/// as qemu-io's do ("Operation not supported"). <c>wait_break</c> with no request held would wait forever in qemu-io;
/// nothing can arrive while it waits here, so it says so and fails instead.
/// </summary>
internal static class BreakpointCommands
{
    private static readonly string s_notSupported = QemuIoErrno.Text(QemuIoErrno.ENOTSUP);
    private static readonly string s_noEntry = QemuIoErrno.Text(QemuIoErrno.ENOENT);

    public static readonly QemuIoCommandInfo Break = new("break", null, "event tag",
        "sets a breakpoint on event and tags the stopped request as tag", 2, 2, RunBreak);

    public static readonly QemuIoCommandInfo RemoveBreak = new("remove_break", null, "tag", "remove a breakpoint by tag", 1, 1, RunRemoveBreak);

    public static readonly QemuIoCommandInfo Resume = new("resume", null, "tag", "resumes the request tagged as tag", 1, 1, RunResume);

    public static readonly QemuIoCommandInfo WaitBreak = new("wait_break", null, "tag", "waits for the suspension of a request", 1, 1, RunWaitBreak);

    private static int RunBreak(QemuIoSession session, string[] words, QemuIoOutput output) => session.Breakpoints switch
    {
        null => Fail(output, "Could not set breakpoint: " + s_notSupported, QemuIoErrno.ENOTSUP),
        { } b when !b.Break(words[1], words[2]) => Fail(output, "Could not set breakpoint: " + s_noEntry, QemuIoErrno.ENOENT),
        _ => 0,
    };

    private static int RunRemoveBreak(QemuIoSession session, string[] words, QemuIoOutput output) => session.Breakpoints switch
    {
        null => Fail(output, $"Could not remove breakpoint {words[1]}: {s_notSupported}", QemuIoErrno.ENOTSUP),
        { } b when !b.Remove(words[1], output) => Fail(output, $"Could not remove breakpoint {words[1]}: {s_noEntry}", QemuIoErrno.ENOENT),
        _ => 0,
    };

    private static int RunResume(QemuIoSession session, string[] words, QemuIoOutput output) => session.Breakpoints switch
    {
        null => Fail(output, "Could not resume request: " + s_notSupported, QemuIoErrno.ENOTSUP),
        { } b when !b.Resume(words[1], output) => Fail(output, "Could not resume request: " + s_noEntry, QemuIoErrno.ENOENT),
        _ => 0,
    };

    private static int RunWaitBreak(QemuIoSession session, string[] words, QemuIoOutput output) => session.Breakpoints switch
    {
        null => Fail(output, $"Could not wait for breakpoint {words[1]}: {s_notSupported}", QemuIoErrno.ENOTSUP),
        { } b when !b.IsSuspended(words[1]) => Fail(output, $"Could not wait for breakpoint {words[1]}: no request is held there, and none can arrive while waiting", QemuIoErrno.ENOENT),
        _ => 0,
    };

    private static int Fail(QemuIoOutput output, string line, int errno)
    {
        output.Out(line);
        return errno;
    }
}
