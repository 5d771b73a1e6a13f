using System.Buffers.Binary;
using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>VHDX as qemu-img writes it, read as qemu-img reads it; a pending log and damaged tables refused as it refuses them.</summary>
public class VhdxInteropTests
{
    [Theory]
    [InlineData("subformat=dynamic")]
    [InlineData("subformat=fixed")]
    [InlineData("block_size=1M")]
    [InlineData("block_size=256M")]
    [InlineData("block_size=32M,log_size=4M")]
    [InlineData("block_state_zero=off")]
    [InlineData("subformat=fixed,block_size=2M")]
    public void Images_qemu_img_writes_read_as_in_qemu_img(string options)
    {
        using var dir = new TempDirectory();
        var path = dir.File("src.vhdx");
        MigrationInterop.QemuImage(path, "vhdx", ["-o", options], "37M");
        MigrationInterop.AssertReadsAsQemu(dir, path, "vhdx");
        Assert.Equal(ExternalTool.QemuImg("check", path), Diskimg.Ok("check", path));

        // And on to qcow2, which qemu-img must find clean and equal.
        var qcow2 = dir.File("out.qcow2");
        Diskimg.Ok("convert", "-O", "qcow2", path, qcow2);
        MigrationInterop.AssertSameContent(path, "vhdx", qcow2, "qcow2");
        ExternalTool.QemuImg("check", qcow2);
    }

    /// <summary>A writer killed mid-run leaves a log; a read-only open must then be refused with qemu-img's words and hint.</summary>
    [Fact]
    public void A_pending_log_is_refused_read_only_as_qemu_img_refuses_it()
    {
        using var dir = new TempDirectory();
        var path = dir.File("killed.vhdx");
        for (var attempt = 0; attempt < 40; attempt++)
        {
            File.Delete(path);
            ExternalTool.QemuImg("create", "-q", "-f", "vhdx", "-o", "block_size=1M", path, "256M");
            var args = new List<string> { "-f", "vhdx" };
            for (var i = 0; i < 250; i++)
            {
                args.AddRange(["-c", $"write -P {(i % 250) + 1} {i}M 4k"]);
            }

            args.Add(path);
            using var writer = Process.Start(new ProcessStartInfo(ExternalTool.Require("qemu-io"), args) { RedirectStandardOutput = true })!;
            Thread.Sleep(50 + (attempt * 15 % 400));
            writer.Kill();
            writer.WaitForExit();
            var theirs = ExternalTool.Run("qemu-img", "info", path);
            if (theirs.ExitCode == 0)
            {
                continue;
            }

            var ours = Diskimg.Run("info", path);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            // The whole message, with qemu's two hint lines naming the repair command.
            Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
            Assert.Contains("contains a log that needs to be replayed", ours.StdErr, StringComparison.Ordinal);

            // qemu-io opening it read-only prints the same hint under its own error line.
            var theirsIo = ExternalTool.Run("qemu-io", "-r", "-f", "vhdx", "-c", "read 0 512", path);
            var oursIo = Diskimg.Run("io", "-r", "-f", "vhdx", "-c", "read 0 512", path);
            Assert.Equal(theirsIo.ExitCode, oursIo.ExitCode);
            Assert.Equal(theirsIo.StdErr.Replace("qemu-io:", "diskimg:", StringComparison.Ordinal), oursIo.StdErr);
            Assert.Contains("To replay the log, run:", oursIo.StdErr, StringComparison.Ordinal);
            return;
        }

        Assert.Fail("no interrupted writer left a pending log in 40 attempts");
    }

    [Fact]
    public void Damaged_headers_and_tables_fail_with_qemu_img_s_reason()
    {
        using var dir = new TempDirectory();
        var good = dir.File("good.vhdx");
        MigrationInterop.QemuImage(good, "vhdx", [], "37M");
        var bat = BatOffset(good);

        // Both headers' checksums wrong: qemu-img's own one-line reason.
        var headers = Copy(good, dir.File("headers.vhdx"));
        MigrationInterop.Invert(headers, (64 * 1024) + 8);
        MigrationInterop.Invert(headers, (128 * 1024) + 8);
        MigrationInterop.AssertSameOpenFailure(headers);

        // One header damaged: the other one is used.
        var one = Copy(good, dir.File("one.vhdx"));
        MigrationInterop.Invert(one, (128 * 1024) + 8);
        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", one), Diskimg.Ok("info", "--output=json", one));

        // A block past the end of the file, and a block over the log and metadata: qemu-img reports the reason on a
        // line of its own before "Invalid argument"; ours is that reason.
        foreach (var (name, entry) in new[] { ("pastend", (1UL << 40) | 6), ("overlap", (1UL << 20) | 6) })
        {
            var crafted = Copy(good, dir.File(name + ".vhdx"));
            var bytes = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, entry);
            MigrationInterop.Patch(crafted, bat + 8, bytes);
            var theirs = ExternalTool.Run("qemu-img", "info", crafted);
            var ours = Diskimg.Run("info", crafted);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            var reason = theirs.StdErr.Split('\n')[0]["qemu-img: ".Length..];
            Assert.Equal($"diskimg: Could not open '{crafted}': {reason}", ours.StdErr.Trim());
        }
    }

    private static long BatOffset(string path)
    {
        var table = new byte[64 * 1024];
        using var file = File.OpenRead(path);
        file.Position = 192 * 1024;
        file.ReadExactly(table);
        var count = BinaryPrimitives.ReadInt32LittleEndian(table.AsSpan(8));
        for (var i = 0; i < count; i++)
        {
            var entry = table.AsSpan(16 + (i * 32), 32);
            if (new Guid(entry[..16]) == new Guid("2DC27766-F623-4200-9D64-115E9BFD4A08"))
            {
                return BinaryPrimitives.ReadInt64LittleEndian(entry[16..]);
            }
        }

        throw new InvalidOperationException("no BAT region");
    }

    private static string Copy(string from, string to)
    {
        File.Copy(from, to);
        return to;
    }
}
