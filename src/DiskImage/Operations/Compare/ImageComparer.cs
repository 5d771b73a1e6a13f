using DiskImage.Formats;
using DiskImage.IO;

namespace DiskImage.Operations.Compare;

/// <summary>
/// <c>qemu-img compare</c>: do two images show the guest the same bytes? Walks both images' block
/// status through their backing chains so ranges that read as zero in both are never read, reads the
/// rest of both images in parallel, and reports the first difference at qemu-img's 512-byte granularity.
/// </summary>
public static class ImageComparer
{
    private const int SectorSize = 512;
    private const int ChunkSize = 2 << 20;

    /// <summary>
    /// Compares; every failure is reported in the result, with qemu-img's exit code. Read-only; cancellation throws.
    /// <paramref name="progress"/> counts guest bytes compared of the larger image's size.
    /// </summary>
    public static CompareResult Compare(ImageCompareOptions options, IProgress<OperationProgress>? progress = null, ImageFormatRegistry? registry = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        registry ??= ImageFormatRegistry.Default;
        IDiskImage? first = null;
        IDiskImage? second = null;
        try
        {
            try
            {
                first = registry.Open(options.FirstPath, options.FirstFormat, new ImageOpenOptions { SecretProvider = options.SecretProvider, KeySecret = options.FirstKeySecret, ForceShare = options.ForceShare, DirectIo = options.DirectIo });
                second = registry.Open(options.SecondPath, options.SecondFormat, new ImageOpenOptions { SecretProvider = options.SecretProvider, KeySecret = options.SecondKeySecret, ForceShare = options.ForceShare, DirectIo = options.DirectIo });
            }
            catch (DiskImageException e)
            {
                return Failure(CompareOutcome.OpenFailed, e.Message) with { ErrorHint = (e as ImageLockedException)?.Hint };
            }

            // qemu-img asks each image for its size next; a host_cdrom drive without a disc has none.
            foreach (var (image, name) in new[] { (first, options.FirstPath), (second, options.SecondPath) })
            {
                if (Formats.Raw.RawImage.LacksMedium(image))
                {
                    return Failure(CompareOutcome.ReadFailed, $"Can't get size of {name}: {ErrnoException.Text(ErrnoException.ENOMEDIUM)}");
                }
            }

            return new Comparison(first, second, options, progress, cancellationToken).Run();
        }
        finally
        {
            second?.Dispose();
            first?.Dispose();
        }
    }

    private static CompareResult Failure(CompareOutcome outcome, string message) =>
        new(outcome, CompareDifference.None, null, false, message);

    /// <summary>One comparison's state: both images, their extent cursors and the read buffers.</summary>
    private sealed class Comparison(IDiskImage first, IDiskImage second, ImageCompareOptions options, IProgress<OperationProgress>? progress, CancellationToken cancellationToken)
    {
        // QEMU sees every image as whole sectors; a 1000-byte raw file compares equal to its 1024-byte twin.
        private readonly long _firstSize = RoundUp(first.Length);
        private readonly long _secondSize = RoundUp(second.Length);
        private readonly byte[] _firstBuffer = new byte[ChunkSize];
        private readonly byte[] _secondBuffer = new byte[ChunkSize];

        public CompareResult Run()
        {
            var sizesDiffer = _firstSize != _secondSize;
            if (options.Strict && sizesDiffer)
            {
                return new CompareResult(CompareOutcome.Different, CompareDifference.Size, null, false, null);
            }

            var common = Math.Min(_firstSize, _secondSize);
            var total = Math.Max(_firstSize, _secondSize);
            var firstCursor = new ExtentCursor(first, _firstSize);
            var secondCursor = new ExtentCursor(second, _secondSize);
            for (long offset = 0; offset < common;)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!TryStatus(firstCursor, offset, options.FirstPath, out var a, out var failure)
                    || !TryStatus(secondCursor, offset, options.SecondPath, out var b, out failure))
                {
                    return failure;
                }

                var chunk = Math.Min(Math.Min(a.Length, b.Length), common - offset);
                if (options.Strict && a.Kind != b.Kind)
                {
                    return new CompareResult(CompareOutcome.Different, CompareDifference.BlockStatus, offset, false, null);
                }

                var firstAllocated = a.Kind != ExtentKind.Unallocated;
                var secondAllocated = b.Kind != ExtentKind.Unallocated;
                CompareResult? verdict = null;
                if (a.ReadsAsZero && b.ReadsAsZero)
                {
                    // Both read as zeroes: nothing to read.
                }
                else if (firstAllocated == secondAllocated)
                {
                    chunk = Math.Min(chunk, ChunkSize);
                    verdict = CompareContent(offset, (int)chunk);
                }
                else
                {
                    chunk = Math.Min(chunk, ChunkSize);
                    verdict = firstAllocated
                        ? CheckZero(first, options.FirstPath, offset, (int)chunk, warnSizeMismatch: false)
                        : CheckZero(second, options.SecondPath, offset, (int)chunk, warnSizeMismatch: false);
                }

                if (verdict is not null)
                {
                    return verdict;
                }

                offset += chunk;
                progress?.Report(new OperationProgress(offset, total));
            }

            if (sizesDiffer)
            {
                var (larger, path, cursor) = _firstSize > _secondSize ? (first, options.FirstPath, firstCursor) : (second, options.SecondPath, secondCursor);
                for (var offset = common; offset < total;)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (!TryStatus(cursor, offset, path, out var extent, out var failure))
                    {
                        return failure with { WarnSizeMismatch = true };
                    }

                    var chunk = extent.Length;
                    if (extent.Kind == ExtentKind.Data)
                    {
                        chunk = Math.Min(chunk, ChunkSize);
                        if (CheckZero(larger, path, offset, (int)chunk, warnSizeMismatch: true) is { } verdict)
                        {
                            return verdict;
                        }
                    }

                    offset += chunk;
                    progress?.Report(new OperationProgress(offset, total));
                }
            }

            return new CompareResult(CompareOutcome.Identical, CompareDifference.None, null, sizesDiffer, null);
        }

        private static bool TryStatus(ExtentCursor cursor, long offset, string path, out Extent extent, out CompareResult failure)
        {
            try
            {
                extent = cursor.At(offset);
                failure = null!;
                return true;
            }
            catch (Exception e) when (e is DiskImageException or IOException)
            {
                extent = default;
                failure = Failure(CompareOutcome.BlockStatusFailed, $"Sector allocation test failed for {path}");
                return false;
            }
        }

        /// <summary>Reads the chunk of both images at once and finds the first differing sector.</summary>
        private CompareResult? CompareContent(long offset, int length)
        {
            Exception? firstError = null;
            Exception? secondError = null;
            Parallel.Invoke(
                () => firstError = TryRead(first, offset, _firstBuffer.AsSpan(0, length)),
                () => secondError = TryRead(second, offset, _secondBuffer.AsSpan(0, length)));
            if (firstError is not null || secondError is not null)
            {
                var (path, error) = firstError is not null ? (options.FirstPath, firstError) : (options.SecondPath, secondError!);
                return Failure(CompareOutcome.ReadFailed, $"Error while reading offset {offset} of {path}: {error.Message}");
            }

            for (var i = 0; i < length; i += SectorSize)
            {
                var n = Math.Min(SectorSize, length - i);
                if (!_firstBuffer.AsSpan(i, n).SequenceEqual(_secondBuffer.AsSpan(i, n)))
                {
                    return new CompareResult(CompareOutcome.Different, CompareDifference.Content, offset + i, false, null);
                }
            }

            return null;
        }

        /// <summary>Reads a range that must be zero (the other image has nothing there) and finds its first non-zero sector.</summary>
        private CompareResult? CheckZero(IDiskImage image, string path, long offset, int length, bool warnSizeMismatch)
        {
            if (TryRead(image, offset, _firstBuffer.AsSpan(0, length)) is { } error)
            {
                return new CompareResult(CompareOutcome.ReadFailed, CompareDifference.None, null, warnSizeMismatch,
                    $"Error while reading offset {offset} of {path}: {error.Message}");
            }

            var nonZero = _firstBuffer.AsSpan(0, length).IndexOfAnyExcept((byte)0);
            return nonZero < 0
                ? null
                : new CompareResult(CompareOutcome.Different, CompareDifference.Content, offset + (nonZero / SectorSize * SectorSize), warnSizeMismatch, null);
        }

        private static Exception? TryRead(IDiskImage image, long offset, Span<byte> buffer)
        {
            try
            {
                ExtentCursor.ReadPadded(image, offset, buffer);
                return null;
            }
            catch (Exception e) when (e is DiskImageException or IOException)
            {
                return e;
            }
        }

        private static long RoundUp(long length) => (length + SectorSize - 1) / SectorSize * SectorSize;
    }
}
