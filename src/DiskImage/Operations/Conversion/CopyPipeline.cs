using System.Threading.Channels;

namespace DiskImage.Operations.Conversion;

/// <summary>
/// The bounded parallel copy: a planner walks block status, workers (at most <c>-m</c> at once)
/// read, scan and compress chunks, and the writer applies them in target order (or the workers
/// write themselves with <c>-W</c>). At most a fixed number of chunks are in flight, so memory
/// stays bounded whatever the image size.
/// </summary>
internal sealed class CopyPipeline(SourceLayout layout, ChunkProcessor processor, ChunkWriter writer, long chunkSize, int workers, bool outOfOrder, long rateLimit = 0)
{
    public async Task RunAsync(IProgress<CopyProgress>? progress, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = stop.Token;
        var scheduler = new ConcurrentExclusiveSchedulerPair(TaskScheduler.Default, workers).ConcurrentScheduler;
        var inFlight = Channel.CreateBounded<Task<ChunkResult>>(new BoundedChannelOptions(workers * 2)
        {
            SingleReader = true,
            SingleWriter = true,
        });

        var total = layout.TotalLength;
        long done = 0;
        long dataDone = 0;
        var rate = new RateLimiter(rateLimit);

        // The data total needs its own block-status pass, made only when someone watches the progress.
        var dataTotal = progress is null ? 0 : layout.Walk(token).Where(s => s.IsData).Sum(s => s.Length);
        progress?.Report(new CopyProgress(0, total) { DataTotal = dataTotal });

        var planner = Task.Run(
            async () =>
            {
                try
                {
                    foreach (var work in CopyPlanner.Plan(layout.Walk(token), chunkSize, total))
                    {
                        var task = Task.Factory.StartNew(() => Process(work, token), token, TaskCreationOptions.None, scheduler);
                        try
                        {
                            await inFlight.Writer.WriteAsync(task, token).ConfigureAwait(false);
                        }
                        catch
                        {
                            await ForgetAsync(task).ConfigureAwait(false);
                            throw;
                        }
                    }
                }
                finally
                {
                    // The writer learns of a planner failure by awaiting the planner after the last chunk.
                    inFlight.Writer.Complete();
                }
            },
            token);

        try
        {
            await foreach (var task in inFlight.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                using var result = await task.ConfigureAwait(false);
                if (!outOfOrder)
                {
                    writer.Apply(result, token);
                }

                done += result.Work.Length;
                rate.Account(DataLength(result.Work), token);
                if (progress is not null)
                {
                    // One report per data run, as qemu-img counts its progress per block-status extent.
                    foreach (var piece in result.Work.Pieces)
                    {
                        if (piece.IsData)
                        {
                            dataDone += piece.Length;
                            progress.Report(new CopyProgress(done - result.Work.Length + (piece.TargetEnd - result.Work.TargetOffset), total) { DataDone = dataDone, DataTotal = dataTotal });
                        }
                    }

                    progress.Report(new CopyProgress(done, total) { DataDone = dataDone, DataTotal = dataTotal });
                }
            }

            await planner.ConfigureAwait(false);
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await DrainAsync(planner, inFlight.Reader).ConfigureAwait(false);
            throw;
        }
    }

    private static long DataLength(CopyWork work)
    {
        long length = 0;
        foreach (var piece in work.Pieces)
        {
            length += piece.IsData ? piece.Length : 0;
        }

        return length;
    }

    private ChunkResult Process(CopyWork work, CancellationToken token)
    {
        var result = processor.Process(work, token);
        if (outOfOrder)
        {
            try
            {
                writer.Apply(result, token);
            }
            catch
            {
                result.Dispose();
                throw;
            }
        }

        return result;
    }

    /// <summary>After a failure, waits for every started chunk so no worker still uses an image about to be closed.</summary>
    private static async Task DrainAsync(Task planner, ChannelReader<Task<ChunkResult>> reader)
    {
        try
        {
            await planner.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The failure that matters is already on its way to the caller.
        }

        while (reader.TryRead(out var task))
        {
            await ForgetAsync(task).ConfigureAwait(false);
        }
    }

    private static async Task ForgetAsync(Task<ChunkResult> task)
    {
        try
        {
            (await task.ConfigureAwait(false)).Dispose();
        }
        catch (Exception)
        {
            // The failure that matters is already on its way to the caller.
        }
    }
}
