using DiskImage.Operations.Io.Commands;

namespace DiskImage.Operations.Io;

/// <summary>Every qemu-io command, sorted by name as qemu-io lists them.</summary>
internal static class QemuIoCommandTable
{
    public static readonly QemuIoCommandInfo[] All =
    [
        .. new[]
        {
            ProcessCommands.Abort, FlushCommands.AioFlush, AioReadCommand.Info, AioWriteCommand.Info, AllocationCommands.Alloc,
            BreakpointCommands.Break, OpenCloseCommands.Close, DiscardCommand.Info, FlushCommands.Flush, HelpCommand.Info,
            InfoCommand.Info, LengthCommand.Info, AllocationCommands.Map, OpenCloseCommands.Open, ProcessCommands.Quit,
            ReadCommand.Info, ReadvCommand.Info, BreakpointCommands.RemoveBreak, ReopenCommand.Info, BreakpointCommands.Resume,
            ProcessCommands.Sigraise, ProcessCommands.Sleep, TruncateCommand.Info, BreakpointCommands.WaitBreak, WriteCommand.Info,
            WritevCommand.Info,
        }.OrderBy(c => c.Name, StringComparer.Ordinal),
    ];

    /// <summary>The command called <paramref name="name"/> (or by its short name), or null.</summary>
    public static QemuIoCommandInfo? Find(string name) => All.FirstOrDefault(c => c.Name == name || c.AltName == name);
}
