using System.Diagnostics;
using System.Runtime.ExceptionServices;
using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Operations.Bench;

/// <summary>
/// <c>qemu-img bench</c>: times a stream of same-sized reads or writes through an image's block device.
/// <see cref="ImageBenchmarkOptions.Depth"/> worker threads each keep one request in flight, which is
/// how this library overlaps I/O (see <see cref="IBlockDevice"/>).
/// </summary>
public static class ImageBenchmark
{
    /// <summary>
    /// Opens <paramref name="path"/> (read-write for write runs, backing chain included), reports the
    /// validated options through <paramref name="started"/> just before the first request, runs, and
    /// flushes written data unless the cache mode is <c>unsafe</c>.
    /// </summary>
    public static ImageBenchmarkResult Run(string path, ImageBenchmarkOptions options, IProgress<ImageBenchmarkOptions>? started = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        using var image = ImageFormatRegistry.Default.Open(path, options.Format, new ImageOpenOptions { ReadOnly = !options.Write, SecretProvider = options.SecretProvider, KeySecret = options.KeySecret, ForceShare = options.ForceShare, DirectIo = options.Cache is BenchmarkCacheMode.None or BenchmarkCacheMode.Directsync });
        started?.Report(options);
        CheckFits(image.Length, options);
        var result = Run(image, options, cancellationToken);
        if (options.Write && options.Cache != BenchmarkCacheMode.Unsafe)
        {
            image.Flush();
        }

        return result;
    }

    /// <summary>Runs the requests against an open device and returns how long they took (no final flush).</summary>
    public static ImageBenchmarkResult Run(IBlockDevice device, ImageBenchmarkOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        CheckFits(device.Length, options);

        var run = new BenchmarkRun(device, options, cancellationToken);
        var workers = new Thread[Math.Min(options.Depth, options.Count)];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = new Thread(run.Work) { IsBackground = true, Name = "bench-" + i };
            workers[i].Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        clock.Stop();
        run.ThrowIfFailed();
        cancellationToken.ThrowIfCancellationRequested();
        return new ImageBenchmarkResult(options.Count, (long)options.Count * options.BufferSize, clock.Elapsed);
    }

    /// <summary>
    /// Offset of request <paramref name="index"/>: the first request uses the start offset as given, later
    /// ones advance by the step and wrap within <c>[0, length - bufsize)</c> (qemu's fixed wrap rule, which
    /// never produces a request past the end).
    /// </summary>
    public static long OffsetOf(long index, long length, ImageBenchmarkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (index == 0)
        {
            return options.Offset;
        }

        if (length <= options.BufferSize)
        {
            return 0;
        }

        var span = (UInt128)(ulong)(length - options.BufferSize);
        var advanced = (UInt128)(ulong)options.Offset + ((UInt128)(ulong)index * (ulong)options.EffectiveStep);
        return (long)(ulong)(advanced % span);
    }

    /// <summary>
    /// A first request past the image's end fails as qemu-img's does (its block layer answers EIO), after the
    /// opening lines; with no requests there is nothing to fail.
    /// </summary>
    private static void CheckFits(long length, ImageBenchmarkOptions options)
    {
        if (options.Count > 0 && (options.BufferSize > length || options.Offset > length - options.BufferSize))
        {
            throw new InvalidOptionException("Failed request: Input/output error");
        }
    }

    /// <summary>State shared by the worker threads of one run.</summary>
    private sealed class BenchmarkRun(IBlockDevice device, ImageBenchmarkOptions options, CancellationToken cancellationToken)
    {
        // One buffer for every request, as qemu-img bench does: a read's data is never looked at, and
        // concurrent reads landing in the same memory cost nothing but keep memory at one buffer.
        private readonly byte[] _buffer = CreateBuffer(options);
        private long _nextRequest = -1;
        private long _completed;
        private ExceptionDispatchInfo? _failure;

        public void Work()
        {
            try
            {
                long index;
                while ((index = Interlocked.Increment(ref _nextRequest)) < options.Count && _failure is null)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var offset = OffsetOf(index, device.Length, options);
                    if (options.Write)
                    {
                        WriteOne(offset);
                    }
                    else
                    {
                        device.Read(offset, _buffer);
                    }
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            }
        }

        public void ThrowIfFailed() => _failure?.Throw();

        private void WriteOne(long offset)
        {
            device.Write(offset, _buffer);
            if (options.Cache.FlushesEachWrite())
            {
                device.Flush();
            }

            var completed = Interlocked.Increment(ref _completed);
            if (options.FlushInterval > 0 && completed % options.FlushInterval == 0)
            {
                device.Flush();
            }
        }

        private static byte[] CreateBuffer(ImageBenchmarkOptions options)
        {
            var buffer = GC.AllocateUninitializedArray<byte>(options.BufferSize);
            buffer.AsSpan().Fill(options.Pattern);
            return buffer;
        }
    }
}
