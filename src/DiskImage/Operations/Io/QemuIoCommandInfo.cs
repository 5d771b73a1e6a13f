namespace DiskImage.Operations.Io;

/// <summary>Runs one command: its words (the name first) in, qemu's return value out (negative = failed).</summary>
internal delegate int QemuIoHandler(QemuIoSession session, string[] words, QemuIoOutput output);

/// <summary>When a command may run without an open image.</summary>
internal enum QemuIoCommandScope
{
    /// <summary>Needs an open image.</summary>
    Image,

    /// <summary>Runs with or without an image, argument counts checked (open, sleep, abort, sigraise).</summary>
    NoFileOk,

    /// <summary>Runs always, argument counts checked (help, quit).</summary>
    Global,
}

/// <summary>A qemu-io command's table entry: names, usage, argument limits, and what it needs.</summary>
/// <param name="Name">The command's name.</param>
/// <param name="AltName">Its short alias, if any.</param>
/// <param name="Args">The usage line's arguments, if any.</param>
/// <param name="OneLine">What <c>help</c> says about it in one line.</param>
/// <param name="ArgMin">Fewest arguments.</param>
/// <param name="ArgMax">-1 for no upper limit.</param>
/// <param name="Run">The handler.</param>
/// <param name="Scope">Whether it needs an open image.</param>
/// <param name="Help">The longer text of <c>help NAME</c>, if any.</param>
/// <param name="NeedsWrite">Refused with "Block node is read-only" on a read-only image, before its arguments are looked at.</param>
internal sealed record QemuIoCommandInfo(
    string Name, string? AltName, string? Args, string OneLine, int ArgMin, int ArgMax, QemuIoHandler Run,
    QemuIoCommandScope Scope = QemuIoCommandScope.Image, bool NeedsWrite = false, string? Help = null)
{
    /// <summary>qemu-io's usage line: <c>name args -- oneline</c>.</summary>
    public string Usage => $"{Name} {Args} -- {OneLine}";

    /// <summary>Prints <see cref="Usage"/> and returns the failure qemu-io returns after it.</summary>
    public int UsageError(QemuIoOutput output)
    {
        output.Out(Usage);
        return QemuIoErrno.EINVAL;
    }
}
