namespace DiskImage.Operations.Io;

/// <summary>Collects what one command prints, in order.</summary>
internal sealed class QemuIoOutput
{
    private readonly List<IoLine> _lines = [];

    /// <summary>A line on standard output (qemu-io's printf).</summary>
    public void Out(string text) => _lines.Add(new IoLine(IoStream.Output, text));

    /// <summary>A line on standard error without the program name (fprintf(stderr), getopt).</summary>
    public void Diagnostic(string text) => _lines.Add(new IoLine(IoStream.Diagnostic, text));

    /// <summary>A line on standard error behind the program name (error_report).</summary>
    public void Error(string text) => _lines.Add(new IoLine(IoStream.Error, text));

    /// <summary>A line kept from another output (a request's completion printed later).</summary>
    public void Add(IoLine line) => _lines.Add(line);

    /// <summary>
    /// Drops the standard-output lines added since <paramref name="mark"/> (a count of <see cref="Lines"/>) and adds
    /// <paramref name="text"/> in their place: a request that failed after printing its success.
    /// </summary>
    public void ReplaceOutputSince(int mark, string text)
    {
        for (var i = _lines.Count - 1; i >= mark; i--)
        {
            if (_lines[i].Stream == IoStream.Output)
            {
                _lines.RemoveAt(i);
            }
        }

        Out(text);
    }

    /// <summary>The lines so far.</summary>
    public IReadOnlyList<IoLine> Lines => _lines;

    /// <summary>Set by <c>quit</c>.</summary>
    public bool Quit { get; set; }

    /// <summary>Set by <c>sigraise</c>, which flushes standard output before raising.</summary>
    public bool FlushOutput { get; set; }

    /// <summary>Set by <c>sigraise</c>: the signal the caller must raise (0 = none).</summary>
    public int Signal { get; set; }

    /// <summary>Set by <c>abort</c>.</summary>
    public bool Abort { get; set; }

    public IoCommandOutcome ToOutcome(bool failed) => new(_lines.ToArray(), failed) { Quit = Quit, Abort = Abort, FlushOutput = FlushOutput, Signal = Signal };
}
