using System.Diagnostics;
using System.Globalization;
using DiskImage.Formats;
using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Nbd;

namespace DiskImage.Interop.Tests.Bitmaps;

/// <summary>
/// Writes keep enabled bitmaps true. A model-based test: random writes, zero writes and discards through the
/// library, <c>diskimg io</c>, <c>diskimg nbd</c> (written by qemu-io) and <c>convert -n</c>; after each step
/// QEMU reads every bitmap (qemu-nbd -B) and must find exactly the granules the model says, and
/// <c>qemu-img check</c> must be clean.
/// </summary>
public class BitmapTrackingInteropTests
{
    private const long Size = 16L << 20;

    private static readonly (string Name, long Granularity, bool Enabled)[] s_bitmaps =
    [
        ("g64k", 65536, true), ("g4k", 4096, true), ("g512", 512, true), ("g1m", 1L << 20, true), ("frozen", 65536, false),
    ];

    [Fact]
    public void Enabled_bitmaps_cover_exactly_the_touched_granules_and_disabled_ones_do_not_change()
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, Size.ToString(CultureInfo.InvariantCulture));
        foreach (var (name, granularity, _) in s_bitmaps)
        {
            ExternalTool.QemuImg("bitmap", "--add", "-g", granularity.ToString(CultureInfo.InvariantCulture), image, name);
        }

        // The disabled bitmap starts with some dirty granules, which must survive untouched.
        ExternalTool.QemuIo("-c", "write -P 0x33 3M 200k", image);
        ExternalTool.QemuImg("bitmap", "--disable", image, "frozen");
        var model = s_bitmaps.ToDictionary(b => b.Name, b => DirtyRanges.Read(image, b.Name, b.Granularity));

        var random = new Random(1717);
        string[] paths = ["library", "io", "nbd"];
        for (var step = 0; step < 9; step++)
        {
            var ops = Enumerable.Range(0, 4).Select(_ => RandomOp(random)).ToList();
            var path = paths[step % paths.Length];
            Apply(dir, image, path, ops);
            foreach (var (name, granularity, enabled) in s_bitmaps.Where(b => b.Enabled))
            {
                foreach (var (_, offset, length) in ops)
                {
                    for (var granule = offset / granularity; granule * granularity < offset + length; granule++)
                    {
                        model[name].Add(granule);
                    }
                }
            }

            AssertBitmaps(image, model, $"step {step} via {path}");
        }

        // convert -n writes the whole disk (data and zeroes): every granule of an enabled bitmap is dirty.
        var raw = dir.File("source.raw");
        ExternalTool.QemuImg("create", "-f", "raw", raw, Size.ToString(CultureInfo.InvariantCulture));
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x44 5M 1M", raw);
        Diskimg.Ok("convert", "-n", "-f", "raw", "-O", "qcow2", raw, image);
        foreach (var (name, granularity, enabled) in s_bitmaps.Where(b => b.Enabled))
        {
            model[name].UnionWith(Enumerable.Range(0, (int)(Size / granularity)).Select(g => (long)g));
        }

        AssertBitmaps(image, model, "convert -n");
    }

    [Fact]
    public void A_writer_killed_mid_way_leaves_the_bitmaps_in_use_and_the_image_uncorrupted()
    {
        using var dir = new TempDirectory();
        var image = dir.File("vm.qcow2");
        ExternalTool.QemuImg("create", "-f", "qcow2", image, "64M");
        ExternalTool.QemuImg("bitmap", "--add", image, "b1");
        ExternalTool.QemuImg("bitmap", "--add", "--disable", image, "b2");

        var commands = Enumerable.Range(0, 400).SelectMany(i => new[] { "-c", $"write -P {i % 250} {(i * 157 % 1000) * 65536L % (64L << 20)} 64k" }).ToArray();
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string[] arguments = [Path.Combine(AppContext.BaseDirectory, "diskimg.dll"), "io", .. commands, image];
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using (var writer = Process.Start(info)!)
        {
            _ = writer.StandardOutput.ReadToEndAsync();
            // Wait until the first write has landed (the bitmaps are marked in use before it), then kill.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!writer.HasExited && DateTime.UtcNow < deadline && new FileInfo(image).Length < (1L << 20))
            {
                Thread.Sleep(20);
            }

            Assert.False(writer.HasExited, "the writer finished before it could be killed");
            writer.Kill();
            writer.WaitForExit();
        }

        var check = ExternalTool.Run("qemu-img", "check", image);
        Assert.True(check.ExitCode is 0 or 3, $"qemu-img check: {check.ExitCode} {check.StdOut}");
        Assert.Contains("in-use", ExternalTool.QemuImg("info", image), StringComparison.Ordinal);
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", image), Diskimg.Ok("info", "--output=json", image));
        Assert.Equal(check.StdOut, Diskimg.Run("check", image).StdOut);

        // An inconsistent bitmap is kept as it is by later writers, and blocks a resize as in qemu-img.
        Diskimg.Ok("io", "-c", "write 0 64k", image);
        Assert.Equal(ExternalTool.QemuImg("info", image), Diskimg.Ok("info", image));
        var copy = dir.File("theirs.qcow2");
        File.Copy(image, copy);
        var theirs = ExternalTool.Run("qemu-img", "resize", copy, "128M");
        var ours = Diskimg.Run("resize", image, "128M");
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img: ", "", StringComparison.Ordinal), ours.StdErr.Replace("diskimg: ", "", StringComparison.Ordinal));
    }

    [Fact]
    public void Dd_writes_a_new_output_so_an_existing_image_s_bitmaps_go_as_with_qemu_img_dd()
    {
        // dd never writes into an existing image: like qemu-img dd it creates its output anew, so there is no
        // bitmap left to keep true. What remains must be what qemu-img dd leaves.
        using var dir = new TempDirectory();
        var input = dir.File("in.raw");
        ExternalTool.QemuImg("create", "-q", "-f", "raw", input, "4M");
        ExternalTool.QemuIo("-f", "raw", "-c", "write -P 0x61 64k 1M", input);
        foreach (var name in new[] { "ours.qcow2", "theirs.qcow2" })
        {
            ExternalTool.QemuImg("create", "-q", "-f", "qcow2", dir.File(name), "16M");
            ExternalTool.QemuImg("bitmap", "--add", dir.File(name), "b1");
        }

        string[] arguments = ["dd", "-f", "raw", "-O", "qcow2", "bs=64k", "count=40"];
        ExternalTool.QemuImg([.. arguments, $"if={input}", $"of={dir.File("theirs.qcow2")}"]);
        Diskimg.Ok([.. arguments, $"if={input}", $"of={dir.File("ours.qcow2")}"]);
        ExternalTool.QemuImg("check", dir.File("ours.qcow2"));
        Assert.Contains("Images are identical.", ExternalTool.QemuImg("compare", dir.File("theirs.qcow2"), dir.File("ours.qcow2")), StringComparison.Ordinal);
        Assert.Equal(InfoWithoutNameAndSize(dir.File("theirs.qcow2")), InfoWithoutNameAndSize(dir.File("ours.qcow2")));
        Assert.DoesNotContain("bitmaps", ExternalTool.QemuImg("info", dir.File("ours.qcow2")), StringComparison.Ordinal);
    }

    /// <summary>qemu-img info's JSON without the file name and the bytes the file takes on the host.</summary>
    private static string[] InfoWithoutNameAndSize(string image)
    {
        return [.. ExternalTool.QemuImg("info", "--output=json", image).Split('\n')
            .Where(line => !line.Contains("\"filename\"", StringComparison.Ordinal) && !line.Contains("\"actual-size\"", StringComparison.Ordinal))];
    }

    private static (string Kind, long Offset, long Length) RandomOp(Random random)
    {
        var kind = random.Next(3) switch { 0 => "write", 1 => "zero", _ => "discard" };
        var offset = random.NextInt64(Size / 512) * 512;
        var length = Math.Min(Size - offset, (1 + random.Next(512)) * 512L);
        return (kind, offset, length);
    }

    private static void Apply(TempDirectory dir, string image, string path, List<(string Kind, long Offset, long Length)> ops)
    {
        switch (path)
        {
            case "library":
                using (var disk = ImageFormatRegistry.Default.Open(image, "qcow2", new ImageOpenOptions { ReadOnly = false }))
                {
                    foreach (var (kind, offset, length) in ops)
                    {
                        switch (kind)
                        {
                            case "write": disk.Write(offset, Enumerable.Repeat((byte)0x5a, (int)length).ToArray()); break;
                            case "zero": disk.WriteZeroes(offset, length, mayUnmap: true); break;
                            default: disk.Discard(offset, length); break;
                        }
                    }
                }

                break;
            case "io":
                Diskimg.Ok(["io", "-f", "qcow2", .. ops.SelectMany(op => new[] { "-c", IoCommand(op) }), image]);
                break;
            default:
                // Without -t the server ends (closing the image cleanly) when its one client leaves; discards are
                // carried out (and so mark the bitmaps) only with --discard=unmap, as with qemu-nbd.
                var socket = dir.File("ours.sock");
                File.Delete(socket); // a stale socket file would pass for a listening server
                using (var server = NbdProcess.Diskimg(socket, 0, "--discard=unmap", "-f", "qcow2", "-k", socket, image))
                {
                    ExternalTool.QemuIo(["-f", "raw", .. ops.SelectMany(op => new[] { "-c", IoCommand(op) }), $"nbd+unix:///?socket={socket}"]);
                    var deadline = DateTime.UtcNow.AddSeconds(30);
                    while (!server.HasExited && DateTime.UtcNow < deadline)
                    {
                        Thread.Sleep(20);
                    }

                    Assert.True(server.HasExited, "diskimg nbd did not end after its client left");
                }

                break;
        }
    }

    private static string IoCommand((string Kind, long Offset, long Length) op) => op.Kind switch
    {
        "write" => $"write -P 0x77 {op.Offset} {op.Length}",
        "zero" => $"write -z {op.Offset} {op.Length}",
        _ => $"discard {op.Offset} {op.Length}",
    };

    private static void AssertBitmaps(string image, Dictionary<string, SortedSet<long>> model, string when)
    {
        var check = ExternalTool.Run("qemu-img", "check", image);
        Assert.True(check.ExitCode == 0, $"{when}: qemu-img check exited {check.ExitCode}: {check.StdOut}{check.StdErr}");
        Assert.DoesNotContain("in-use", ExternalTool.QemuImg("info", image), StringComparison.Ordinal);
        foreach (var (name, granularity, _) in s_bitmaps)
        {
            var actual = DirtyRanges.Read(image, name, granularity);
            Assert.True(model[name].SetEquals(actual),
                $"{when}: bitmap {name} missing [{DirtyRanges.Describe(model[name].Except(actual))}] extra [{DirtyRanges.Describe(actual.Except(model[name]))}]");
        }
    }
}
