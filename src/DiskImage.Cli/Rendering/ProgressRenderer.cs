using DiskImage.Operations;
using Spectre.Console;

namespace DiskImage.Cli.Rendering;

/// <summary>
/// convert's <c>-p</c>: a Spectre.Console progress bar when stdout is a terminal; otherwise qemu-img's plain
/// <c>\r</c>-separated <c>(N.NN/100%)</c> figures on stdout, measured as qemu-img measures them (in data copied).
/// </summary>
internal static class ProgressRenderer
{
    /// <summary>Runs <paramref name="work"/> with progress shown on <paramref name="context"/>'s output stream.</summary>
    public static async Task RunAsync(CliContext context, string description, Func<IProgress<OperationProgress>, Task> work)
    {
        if (context.OutputIsTerminal)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(context.Out) });
            await console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async progressContext =>
                {
                    var task = progressContext.AddTask(Markup.Escape(description), maxValue: 1);
                    await work(new Progress(report =>
                    {
                        task.MaxValue = Math.Max(1, report.Total);
                        task.Value = report.Completed;
                    })).ConfigureAwait(false);
                    task.Value = task.MaxValue;
                }).ConfigureAwait(false);
            return;
        }

        var printer = new QemuProgress(context.Out, step: 1);
        long lastData = 0;
        try
        {
            await work(new Progress(report =>
            {
                // Only a step in data copied is a step for qemu-img (which prints each one that reaches 100 %).
                if (report.Completed != lastData)
                {
                    lastData = report.Completed;
                    printer.Report(report.Percent);
                }
            })).ConfigureAwait(false);
        }
        catch
        {
            printer.End();
            throw;
        }

        printer.Complete();
    }

    /// <summary>Reports synchronously on the reporting thread (the copy's writer), unlike <see cref="Progress{T}"/>.</summary>
    private sealed class Progress(Action<OperationProgress> report) : IProgress<OperationProgress>
    {
        private readonly Lock _lock = new();

        public void Report(OperationProgress value)
        {
            lock (_lock)
            {
                report(value);
            }
        }
    }
}
