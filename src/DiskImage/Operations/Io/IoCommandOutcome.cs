namespace DiskImage.Operations.Io;

/// <summary>Where a line qemu-io prints goes.</summary>
public enum IoStream
{
    /// <summary>Standard output: reports, dumps, and most complaints about arguments.</summary>
    Output,

    /// <summary>Standard error, printed as is (getopt complaints, "command not found", argument counts).</summary>
    Diagnostic,

    /// <summary>Standard error behind the program's name (qemu's <c>error_report</c>).</summary>
    Error,
}

/// <summary>One line one qemu-io command printed.</summary>
public readonly record struct IoLine(IoStream Stream, string Text);

/// <summary>What one qemu-io command printed, in order, and whether it failed.</summary>
/// <param name="Lines">Every line, in the order qemu-io prints them.</param>
/// <param name="Failed">True when the command failed (makes the whole run exit 1).</param>
public sealed record IoCommandOutcome(IReadOnlyList<IoLine> Lines, bool Failed)
{
    /// <summary>The lines for standard output.</summary>
    public IReadOnlyList<string> Output => [.. Lines.Where(l => l.Stream == IoStream.Output).Select(l => l.Text)];

    /// <summary>The program-prefixed error lines, joined, or null when there are none.</summary>
    public string? Error => Lines.Any(l => l.Stream == IoStream.Error)
        ? string.Join('\n', Lines.Where(l => l.Stream == IoStream.Error).Select(l => l.Text))
        : null;

    /// <summary><c>quit</c>: no further command runs.</summary>
    public bool Quit { get; init; }

    /// <summary><c>sigraise</c>: standard output is flushed after this command's lines.</summary>
    public bool FlushOutput { get; init; }

    /// <summary><c>sigraise</c>: the signal number the program must raise in itself after printing (0 = none).</summary>
    public int Signal { get; init; }

    /// <summary><c>abort</c>: the program must end at once by SIGABRT, losing what standard output still buffers.</summary>
    public bool Abort { get; init; }
}
