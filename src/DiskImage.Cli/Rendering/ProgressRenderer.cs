using System.Globalization;
using DiskImage.Operations.Conversion;
using Spectre.Console;

namespace DiskImage.Cli.Rendering;

/// <summary>
/// <c>-p</c>: a Spectre.Console progress bar on stderr when it is a terminal; otherwise qemu-img's
/// plain <c>(N.NN/100%)</c> lines, one per whole ten percent, so logs stay readable.
/// </summary>
internal static class ProgressRenderer
{
    /// <summary>Runs <paramref name="work"/> with progress shown on <paramref name="context"/>'s error stream.</summary>
    public static async Task RunAsync(CliContext context, string description, Func<IProgress<CopyProgress>, Task> work)
    {
        if (context.ErrorIsTerminal)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(context.Error) });
            await console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async progressContext =>
                {
                    var task = progressContext.AddTask(Markup.Escape(description), maxValue: 1);
                    await work(new Progress(report =>
                    {
                        task.MaxValue = Math.Max(1, report.TotalBytes);
                        task.Value = report.BytesDone;
                    })).ConfigureAwait(false);
                    task.Value = task.MaxValue;
                }).ConfigureAwait(false);
            return;
        }

        var lastTenth = -1;
        await work(new Progress(report =>
        {
            var tenth = (int)(report.Percent / 10);
            if (tenth != lastTenth)
            {
                lastTenth = tenth;
                context.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    ({report.Percent:0.00}/100%)"));
            }
        })).ConfigureAwait(false);
    }

    /// <summary>Reports synchronously on the reporting thread (the copy's writer), unlike <see cref="Progress{T}"/>.</summary>
    private sealed class Progress(Action<CopyProgress> report) : IProgress<CopyProgress>
    {
        private readonly Lock _lock = new();

        public void Report(CopyProgress value)
        {
            lock (_lock)
            {
                report(value);
            }
        }
    }
}
