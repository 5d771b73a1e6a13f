namespace DiskImage.Cli;

/// <summary>Where a command writes: data and JSON to <see cref="Out"/>, progress and errors to <see cref="Error"/>.</summary>
internal sealed record CliContext(TextWriter Out, TextWriter Error)
{
    /// <summary>True when <see cref="Error"/> is an interactive terminal (progress bars are drawn only then).</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary>True when <see cref="Out"/> is an interactive terminal (convert's rich progress bar is drawn only then).</summary>
    public bool OutputIsTerminal { get; init; }

    /// <summary>Cancelled by SIGINT or SIGTERM; every long operation takes it.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>The <c>--image-opts</c> lists this command line typed, so its errors name them as typed.</summary>
    public ImageOptsNames ImageOptsNames { get; init; } = new();
}
