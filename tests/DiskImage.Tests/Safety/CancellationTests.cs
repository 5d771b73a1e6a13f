using System.Security.Cryptography;
using DiskImage.Formats;
using DiskImage.Formats.Iso9660;
using DiskImage.Formats.Qcow2;
using DiskImage.IO;
using DiskImage.Operations;
using DiskImage.Operations.Amend;
using DiskImage.Operations.Check;
using DiskImage.Operations.Commit;
using DiskImage.Operations.Compare;
using DiskImage.Operations.Conversion;
using DiskImage.Operations.Dd;
using DiskImage.Operations.Measure;
using DiskImage.Operations.Rebase;
using DiskImage.Operations.Snapshots;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.Safety;

/// <summary>
/// Every long library operation cancelled at a random point: new outputs are absent (no file under the target's name,
/// no temporary file), in-place operations leave the guest's view unchanged and the image consistent, and read-only
/// operations change nothing.
/// </summary>
public class CancellationTests
{
    private const long Size = 32L << 20;

    public static TheoryData<int> Seeds() => [1, 2, 3];

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Cancelled_convert_leaves_no_target(int seed)
    {
        using var dir = new TempDirectory();
        var source = MakeQcow2(dir, "source.qcow2", null, 0x5a);
        var before = FileHash(source);
        using var cancel = new CancellationTokenSource();
        var threshold = new Random(seed).NextInt64(1, Size);
        var progress = new Inline<OperationProgress>(p =>
        {
            if (p.Completed >= threshold)
            {
                cancel.Cancel();
            }
        });

        var options = new ConvertOptions { Sources = [source], Target = dir.File("target.qcow2"), TargetFormat = "qcow2", Workers = 1, Compress = seed == 2 };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ImageConverter.ConvertAsync(options, progress, cancel.Token));

        Assert.Equal(["source.qcow2"], Files(dir));
        Assert.Equal(before, FileHash(source));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cancelled_dd_leaves_no_target(int seed)
    {
        using var dir = new TempDirectory();
        var source = MakeQcow2(dir, "source.qcow2", null, 0x5a);
        using var cancel = new CancellationTokenSource();
        var threshold = new Random(seed).NextInt64(1, Size);
        var progress = new Inline<OperationProgress>(p =>
        {
            if (p.Completed >= threshold)
            {
                cancel.Cancel();
            }
        });

        Assert.ThrowsAny<OperationCanceledException>(() => ImageDd.Copy(
            new DdOptions { InputPath = source, OutputPath = dir.File("out.raw"), BlockSize = 1 << 20 }, progress, cancellationToken: cancel.Token));
        Assert.Equal(["source.qcow2"], Files(dir));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cancelled_commit_leaves_the_image_reading_as_before_and_both_files_consistent(int seed)
    {
        using var dir = new TempDirectory();
        var baseImage = MakeQcow2(dir, "base.qcow2", null, 0x11);
        var top = MakeQcow2(dir, "top.qcow2", "base.qcow2", 0x22);
        var guestBefore = GuestHash(top);
        var topBefore = FileHash(top);
        using var cancel = new CancellationTokenSource();
        var progress = CancelAtPercent(cancel, new Random(seed).NextDouble() * 90);

        Assert.ThrowsAny<OperationCanceledException>(() => ImageCommitter.Commit(new CommitOptions { Path = top }, progress, cancel.Token));

        Assert.Equal(guestBefore, GuestHash(top));
        Assert.Equal(topBefore, FileHash(top));
        Assert.Equal(0, CheckExitCode(baseImage));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cancelled_rebase_leaves_the_image_reading_as_before_with_its_old_backing_file(int seed)
    {
        using var dir = new TempDirectory();
        MakeQcow2(dir, "base.qcow2", null, 0x11);
        var top = MakeQcow2(dir, "top.qcow2", "base.qcow2", 0x22, dataFraction: 4);
        var guestBefore = GuestHash(top);
        using var cancel = new CancellationTokenSource();
        var progress = CancelAtPercent(cancel, new Random(seed).NextDouble() * 90);

        // Rebasing onto nothing copies all of base's data into top first.
        Assert.ThrowsAny<OperationCanceledException>(() => ImageRebaser.Rebase(new RebaseOptions { Path = top, BackingFile = "" }, progress, cancel.Token));

        Assert.Equal(guestBefore, GuestHash(top));
        Assert.Equal(0, CheckExitCode(top));
        using var image = ImageFormatRegistry.Default.Open(top, "qcow2");
        Assert.Equal("base.qcow2", image.GetInfo().BackingFilename);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cancelled_compare_throws_and_changes_nothing(int seed)
    {
        using var dir = new TempDirectory();
        var first = MakeQcow2(dir, "a.qcow2", null, 0x11);
        var second = MakeQcow2(dir, "b.qcow2", null, 0x11);
        var hashes = (FileHash(first), FileHash(second));
        using var cancel = new CancellationTokenSource();
        var progress = CancelAtPercent(cancel, new Random(seed).NextDouble() * 90);

        Assert.ThrowsAny<OperationCanceledException>(() =>
            ImageComparer.Compare(new ImageCompareOptions { FirstPath = first, SecondPath = second }, progress, cancellationToken: cancel.Token));
        Assert.Equal(hashes, (FileHash(first), FileHash(second)));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cancelled_check_with_repair_leaves_the_image_reading_as_before_and_consistent(int seed)
    {
        using var dir = new TempDirectory();
        // 4 KiB clusters: each L2 table maps 2 MiB, so the check has 16 L1 entries to report and stop between.
        var path = MakeQcow2(dir, "disk.qcow2", null, 0x33, clusterSize: 4096);
        var guestBefore = GuestHash(path);
        using var cancel = new CancellationTokenSource();
        var progress = CancelAtPercent(cancel, new Random(seed).NextDouble() * 90);

        using (var image = ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false, ForRepair = true }))
        {
            Assert.ThrowsAny<OperationCanceledException>(() => ImageChecker.Check(image, CheckRepair.All, progress, cancel.Token));
        }

        Assert.Equal(guestBefore, GuestHash(path));
        Assert.Equal(0, CheckExitCode(path));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cancelled_amend_leaves_the_old_or_the_new_layout_with_at_worst_leaks(int seed)
    {
        using var dir = new TempDirectory();
        var path = MakeQcow2(dir, "disk.qcow2", null, 0x33);
        var guestBefore = GuestHash(path);
        using var cancel = new CancellationTokenSource();
        // The refcount rewrite reports its start and its end; a cancel seen at the end stops before the steps after it.
        var progress = CancelAtPercent(cancel, new Random(seed).NextDouble() * 80);

        Assert.ThrowsAny<OperationCanceledException>(() => ImageAmender.Run(
            new AmendOptions { Path = path, Options = new Dictionary<string, string> { ["refcount_bits"] = "64" } }, progress, cancellationToken: cancel.Token));

        Assert.Equal(guestBefore, GuestHash(path));
        Assert.Contains(CheckExitCode(path), new[] { 0, 3 });
        using var image = ImageFormatRegistry.Default.Open(path, "qcow2");
        Assert.Contains(Assert.IsType<Qcow2SpecificInfo>(image.GetInfo().FormatSpecific).RefcountBits, new[] { 16, 64 });
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cancelled_measure_throws_and_changes_nothing(int seed)
    {
        using var dir = new TempDirectory();
        // Data in every other MiB: 32 runs, so the walk reports often enough to stop inside it.
        var path = MakeQcow2(dir, "disk.qcow2", null, 0x33, dataFraction: 2);
        var before = FileHash(path);
        using var cancel = new CancellationTokenSource();
        var progress = CancelAtPercent(cancel, new Random(seed).NextDouble() * 80);

        Assert.ThrowsAny<OperationCanceledException>(() => ImageMeasurer.Measure(
            new MeasureOptions { SourcePath = path, OutputFormat = "qcow2" }, progress, cancellationToken: cancel.Token));
        Assert.Equal(before, FileHash(path));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cancelled_snapshot_apply_leaves_the_active_state_and_the_snapshots_as_they_were(int seed)
    {
        using var dir = new TempDirectory();
        var path = MakeQcow2(dir, "disk.qcow2", null, 0x44, clusterSize: 4096);
        ImageSnapshots.Run(new SnapshotOptions { Path = path, Action = SnapshotAction.Create, Name = "before" });
        using (var image = ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false }))
        {
            image.Write(0, new byte[1 << 20]);
            image.Flush();
        }

        var guestBefore = GuestHash(path);
        var fileBefore = FileHash(path);
        using var cancel = new CancellationTokenSource();
        var progress = CancelAtPercent(cancel, new Random(seed).NextDouble() * 90);

        Assert.ThrowsAny<OperationCanceledException>(() => ImageSnapshots.Run(
            new SnapshotOptions { Path = path, Action = SnapshotAction.Apply, Name = "before" }, progress, cancel.Token));

        // Cancellation comes before anything is written.
        Assert.Equal(fileBefore, FileHash(path));
        Assert.Equal(guestBefore, GuestHash(path));
        Assert.Equal(0, CheckExitCode(path));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cancelled_iso_build_leaves_no_output(int seed)
    {
        using var dir = new TempDirectory();
        var tree = Directory.CreateDirectory(dir.File("tree")).FullName;
        var random = new Random(seed);
        for (var i = 0; i < 8; i++)
        {
            var content = new byte[4 << 20];
            random.NextBytes(content);
            File.WriteAllBytes(Path.Combine(tree, $"file{i}.bin"), content);
        }

        var builder = new IsoBuilder(new IsoBuildOptions { RockRidge = IsoRockRidgeMode.Rationalized });
        builder.AddDirectoryTree(tree);
        var output = dir.File("out.iso");
        using var cancel = new CancellationTokenSource();
        var threshold = random.NextInt64(1, 30L << 20);
        using var watcher = CancelWhen(cancel, () => Directory.GetFiles(dir.Path, ".out.iso" + PartialOutput.Marker + "*").Sum(f => new FileInfo(f).Length) >= threshold);
        try
        {
            builder.Build(output, cancellationToken: cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Equal(["tree"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
            return;
        }

        // The build won the race: the image must then be whole.
        using var iso = IsoFileSystem.Open(output);
        Assert.Equal(8, iso.Walk().Count(n => n.Kind == IsoNodeKind.File));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cancelled_iso_extract_leaves_only_whole_files(int seed)
    {
        using var dir = new TempDirectory();
        var random = new Random(seed);
        var contents = new Dictionary<string, byte[]>();
        var builder = new IsoBuilder(new IsoBuildOptions { RockRidge = IsoRockRidgeMode.Rationalized });
        for (var i = 0; i < 24; i++)
        {
            var content = new byte[random.Next(1, 2 << 20)];
            random.NextBytes(content);
            contents[$"file{i:00}.bin"] = content;
            builder.AddFile($"/file{i:00}.bin", content);
        }

        builder.Build(dir.File("in.iso"));
        using var iso = IsoFileSystem.Open(dir.File("in.iso"));
        var target = dir.File("out");
        using var cancel = new CancellationTokenSource();
        var threshold = random.Next(1, 20);
        using var watcher = CancelWhen(cancel, () => Directory.Exists(target) && Directory.GetFiles(target).Length >= threshold);
        try
        {
            IsoExtractor.Extract(iso, new IsoExtractOptions { TargetDirectory = target }, cancellationToken: cancel.Token);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var file in Directory.GetFiles(target))
        {
            Assert.Equal(contents[Path.GetFileName(file)], File.ReadAllBytes(file));
        }
    }

    /// <summary>Cancels <paramref name="cancel"/> from another thread as soon as <paramref name="condition"/> holds.</summary>
    private static Timer CancelWhen(CancellationTokenSource cancel, Func<bool> condition) =>
        new(_ =>
        {
            try
            {
                if (!cancel.IsCancellationRequested && condition())
                {
                    cancel.Cancel();
                }
            }
            catch (IOException)
            {
                // A file vanished between listing and measuring; look again next time.
            }
        }, null, 0, 2);

    /// <summary>Cancels <paramref name="cancel"/> at the first report at or past <paramref name="percent"/>, on the reporting thread.</summary>
    private static Inline<OperationProgress> CancelAtPercent(CancellationTokenSource cancel, double percent) =>
        new(p =>
        {
            if (p.Percent >= percent)
            {
                cancel.Cancel();
            }
        });

    /// <summary>A qcow2 image of <see cref="Size"/> with 1 MiB of <paramref name="pattern"/> in every <paramref name="dataFraction"/> MiB.</summary>
    private static string MakeQcow2(TempDirectory dir, string name, string? backing, byte pattern, int dataFraction = 1, int clusterSize = 65536)
    {
        var path = dir.File(name);
        Qcow2Format.Instance.Create(path, new Qcow2CreateOptions { Size = Size, ClusterSize = clusterSize, BackingFile = backing, BackingFormat = backing is null ? null : "qcow2" });
        using var image = ImageFormatRegistry.Default.Open(path, "qcow2", new ImageOpenOptions { ReadOnly = false });
        var data = new byte[1 << 20];
        for (long offset = 0; offset < Size; offset += data.Length * (long)dataFraction)
        {
            Array.Fill(data, (byte)(pattern + (offset >> 20)));
            image.Write(offset, data);
        }

        image.Flush();
        return path;
    }

    private static string GuestHash(string path)
    {
        using var image = ImageFormatRegistry.Default.Open(path, "qcow2");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        for (long offset = 0; offset < image.Length; offset += buffer.Length)
        {
            image.Read(offset, buffer);
            hash.AppendData(buffer);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static string FileHash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private static int CheckExitCode(string path)
    {
        using var image = ImageFormatRegistry.Default.Open(path, "qcow2");
        return ImageChecker.Check(image, CheckRepair.None).ExitCode;
    }

    private static string[] Files(TempDirectory dir) => [.. Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    /// <summary>Reports on the reporting thread, so a cancellation lands at the point it is asked for.</summary>
    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
