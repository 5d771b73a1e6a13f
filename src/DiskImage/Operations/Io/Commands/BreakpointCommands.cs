namespace DiskImage.Operations.Io.Commands;

/// <summary>
/// <c>break</c>, <c>remove_break</c>, <c>resume</c> and <c>wait_break</c>: QEMU's fault injection, which needs its
/// blkdebug driver. No image here has one, so they fail as qemu-io's do on any other image ("Operation not
/// supported"); <c>wait_break</c>, which would wait forever there, says so and fails instead.
/// </summary>
internal static class BreakpointCommands
{
    private static readonly string s_notSupported = QemuIoErrno.Text(QemuIoErrno.ENOTSUP);

    public static readonly QemuIoCommandInfo Break = new("break", null, "event tag",
        "sets a breakpoint on event and tags the stopped request as tag", 2, 2, (_, _, output) => Fail(output, "Could not set breakpoint: " + s_notSupported));

    public static readonly QemuIoCommandInfo RemoveBreak = new("remove_break", null, "tag", "remove a breakpoint by tag", 1, 1,
        (_, words, output) => Fail(output, $"Could not remove breakpoint {words[1]}: {s_notSupported}"));

    public static readonly QemuIoCommandInfo Resume = new("resume", null, "tag", "resumes the request tagged as tag", 1, 1,
        (_, _, output) => Fail(output, "Could not resume request: " + s_notSupported));

    public static readonly QemuIoCommandInfo WaitBreak = new("wait_break", null, "tag", "waits for the suspension of a request", 1, 1,
        (_, words, output) => Fail(output, $"Could not wait for breakpoint {words[1]}: {s_notSupported}"));

    private static int Fail(QemuIoOutput output, string line)
    {
        output.Out(line);
        return QemuIoErrno.ENOTSUP;
    }
}
