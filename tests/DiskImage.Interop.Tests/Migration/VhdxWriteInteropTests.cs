using System.Buffers.Binary;
using System.Diagnostics;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Migration;

/// <summary>VHDX written by us: created, filled and logged as qemu-img does it, judged by qemu-img and vhdiinfo; pending logs replayed as QEMU replays them.</summary>
public class VhdxWriteInteropTests
{
    /// <summary>The two 4 KiB headers live here; they carry fresh GUIDs on every update, so files are compared around them.</summary>
    private const long HeadersStart = 64 * 1024;
    private const long HeadersEnd = 192 * 1024;

    [Theory]
    [InlineData("subformat=dynamic")]
    [InlineData("subformat=fixed")]
    [InlineData("block_size=1M")]
    [InlineData("block_state_zero=off")]
    [InlineData("block_size=256M,log_size=2M")]
    [InlineData("subformat=fixed,block_size=2M")]
    public void Images_we_write_compare_equal_and_are_read_by_vhdiinfo(string options)
    {
        using var dir = new TempDirectory();
        var source = dir.File("src.qcow2");
        MigrationInterop.QemuImage(source, "qcow2", [], "37M");
        var ours = dir.File("ours.vhdx");
        Diskimg.Ok("convert", "-f", "qcow2", "-O", "vhdx", "-o", options, source, ours);
        MigrationInterop.AssertSameContent(source, "qcow2", ours, "vhdx");
        Assert.Equal("No errors were found on the image.\n", ExternalTool.QemuImg("check", "-f", "vhdx", ours));
        var vhdi = ExternalTool.Run(ExternalTool.Require("vhdiinfo"), ours).EnsureSuccess("vhdiinfo");
        Assert.Contains(options.Contains("fixed", StringComparison.Ordinal) ? "Disk type\t\t: Fixed" : "Disk type\t\t: Dynamic", vhdi.StdOut, StringComparison.Ordinal);
        Assert.Contains("(38797312 bytes)", vhdi.StdOut, StringComparison.Ordinal);

        // Back again: our reading of our own image matches qemu-img's reading of it.
        MigrationInterop.AssertReadsAsQemu(dir, ours, "vhdx");
    }

    /// <summary>Same size, same qemu-img info, same allocation table, for every option qemu-img takes.</summary>
    [Theory]
    [InlineData("37M", "")]
    [InlineData("37M", "subformat=fixed")]
    [InlineData("37M", "block_size=1M,log_size=3M")]
    [InlineData("37M", "block_state_zero=off")]
    [InlineData("37M", "block_size=100")]
    [InlineData("37M", "block_size=512M")]
    [InlineData("37M", "log_size=100")]
    [InlineData("1000", "")]
    [InlineData("0", "")]
    [InlineData("3G", "subformat=dynamic")]
    public void Create_lays_out_the_file_as_qemu_img(string size, string options)
    {
        using var dir = new TempDirectory();
        var ours = dir.File("ours.vhdx");
        var theirs = dir.File("theirs.vhdx");
        string[] o = options.Length == 0 ? [] : ["-o", options];
        var ourLine = Diskimg.Ok(["create", "-f", "vhdx", .. o, ours, size]);
        var theirLine = ExternalTool.QemuImg(["create", "-f", "vhdx", .. o, theirs, size]);
        Assert.Equal(theirLine.Replace(theirs, ours, StringComparison.Ordinal), ourLine);
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        Assert.Equal(
            ExternalTool.QemuImg("info", "--output=json", theirs).Replace(theirs, "X", StringComparison.Ordinal),
            ExternalTool.QemuImg("info", "--output=json", ours).Replace(ours, "X", StringComparison.Ordinal));
        Assert.Equal(TableOf(theirs), TableOf(ours));
        Assert.Equal(ExternalTool.QemuImg("check", theirs), ExternalTool.QemuImg("check", ours));
    }

    [Theory]
    [InlineData("10M", "block_size=3M")]
    [InlineData("10M", "log_size=5G")]
    [InlineData("10M", "log_size=0")]
    [InlineData("65T", "")]
    [InlineData("1M", "subformat=foo")]
    [InlineData("1M", "block_state_zero=maybe")]
    [InlineData("1M", "foo=1")]
    public void Create_refuses_what_qemu_img_refuses(string size, string options)
    {
        using var dir = new TempDirectory();
        string[] o = options.Length == 0 ? [] : ["-o", options];
        var theirs = ExternalTool.Run("qemu-img", ["create", "-q", "-f", "vhdx", .. o, dir.File("a.vhdx"), size]);
        var ours = Diskimg.Run(["create", "-q", "-f", "vhdx", .. o, dir.File("a.vhdx"), size]);
        Assert.NotEqual(0, theirs.ExitCode);
        Assert.Equal(theirs.ExitCode, ours.ExitCode);
        Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
    }

    [Fact]
    public void Backing_files_and_resize_are_refused_as_qemu_img_refuses_them()
    {
        using var dir = new TempDirectory();
        var image = dir.File("a.vhdx");
        ExternalTool.QemuImg("create", "-q", "-f", "vhdx", image, "8M");
        foreach (var args in new[] { new[] { "create", "-f", "vhdx", "-b", image, "-F", "vhdx", dir.File("b.vhdx"), "8M" }, ["resize", image, "16M"] })
        {
            var theirs = ExternalTool.Run("qemu-img", args);
            var ours = Diskimg.Run(args);
            Assert.NotEqual(0, theirs.ExitCode);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(theirs.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr);
        }
    }

    /// <summary>
    /// The same writes through qemu-io and through ours leave the same file, header GUIDs aside: blocks allocated
    /// at the same places, the table updated through the log the same way, the log entries themselves alike.
    /// </summary>
    [Theory]
    [InlineData("block_size=1M")]
    [InlineData("subformat=fixed,block_size=1M")]
    [InlineData("block_state_zero=off")]
    public void Writes_leave_the_file_as_qemu_io_leaves_it(string options)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.vhdx");
        var ours = dir.File("ours.vhdx");
        ExternalTool.QemuImg("create", "-q", "-f", "vhdx", "-o", options, theirs, "19M");
        File.Copy(theirs, ours);
        string[] writes = ["-c", "write -P 0x11 0 64k", "-c", "write -P 0x22 3M 5M", "-c", "write -P 0x33 18M 512k", "-c", "write -P 0x44 1M 4k"];

        // qemu-io's unused descriptor slots hold whatever its heap held; glibc's MALLOC_PERTURB_ makes that
        // never zero, so the comparison below always meets those bytes instead of only on unlucky runs.
        ExternalTool.Run("env", ["MALLOC_PERTURB_=165", ExternalTool.Require("qemu-io"), "-f", "vhdx", .. writes, theirs]).EnsureSuccess("qemu-io");
        Diskimg.Ok(["io", "-f", "vhdx", .. writes, ours]);
        AssertSameOutsideHeaders(theirs, ours, oursWroteTheLog: true);
        Assert.Equal("No errors were found on the image.\n", ExternalTool.QemuImg("check", ours));
    }

    /// <summary>A writer killed mid-run leaves a log; qemu-img's repair and ours must leave the same file.</summary>
    [Fact]
    public void A_log_left_by_a_killed_writer_is_replayed_as_qemu_replays_it()
    {
        using var dir = new TempDirectory();
        var killed = KilledWriter(dir);
        var theirs = dir.File("theirs.vhdx");
        var ours = dir.File("ours.vhdx");
        File.Copy(killed, theirs);
        File.Copy(killed, ours);
        Assert.Equal(ExternalTool.QemuImg("check", "-r", "all", theirs), Diskimg.Ok("check", "-r", "all", ours));
        AssertSameOutsideHeaders(theirs, ours);
        Assert.Equal("No errors were found on the image.\n", ExternalTool.QemuImg("check", ours));

        // A write through a read-write open replays first too, then writes as qemu-io does.
        File.Copy(killed, theirs, overwrite: true);
        File.Copy(killed, ours, overwrite: true);
        ExternalTool.QemuIo("-f", "vhdx", "-c", "write -P 0x77 255M 4k", theirs);
        Diskimg.Ok("io", "-f", "vhdx", "-c", "write -P 0x77 255M 4k", ours);
        AssertSameOutsideHeaders(theirs, ours);
    }

    /// <summary>A crafted pending entry (data for a fixed disk's block) is replayed as QEMU replays it; a read-only open refuses it.</summary>
    [Fact]
    public void A_crafted_pending_entry_is_replayed_as_qemu_replays_it()
    {
        using var dir = new TempDirectory();
        var image = dir.File("crafted.vhdx");
        ExternalTool.QemuImg("create", "-q", "-f", "vhdx", "-o", "subformat=fixed,block_size=1M,block_state_zero=off", image, "4M");
        var sector = new byte[4096];
        new Random(7).NextBytes(sector);
        var firstBlock = FirstBlockOffset(image);
        VhdxCraftedLog.AddPendingEntry(image, firstBlock + (1 << 20) + 8192, sector);
        var refused = ExternalTool.Run("qemu-img", "info", image);
        var ourRefusal = Diskimg.Run("info", image);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Equal(refused.ExitCode, ourRefusal.ExitCode);
        // qemu-img's refusal and its two hint lines (how to replay the log).
        Assert.Equal(refused.StdErr.Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ourRefusal.StdErr);

        var theirs = dir.File("theirs.vhdx");
        var ours = dir.File("ours.vhdx");
        File.Copy(image, theirs);
        File.Copy(image, ours);
        Assert.Equal(ExternalTool.QemuImg("check", "-r", "all", theirs), Diskimg.Ok("check", "-r", "all", ours));
        AssertSameOutsideHeaders(theirs, ours);
        var raw = dir.File("ours.raw");
        Diskimg.Ok("convert", "-O", "raw", ours, raw);
        Assert.Equal(sector, File.ReadAllBytes(raw).AsSpan((1 << 20) + 8192, 4096).ToArray());
    }

    /// <summary>Entries whose checksum is wrong are no log at all; malformed descriptors fail the read-write open, as in QEMU.</summary>
    [Fact]
    public void Damaged_log_entries_are_judged_as_qemu_judges_them()
    {
        using var dir = new TempDirectory();
        var good = dir.File("good.vhdx");
        ExternalTool.QemuImg("create", "-q", "-f", "vhdx", "-o", "subformat=fixed,block_size=1M,block_state_zero=off", good, "4M");
        var target = FirstBlockOffset(good);

        // A wrong checksum: nothing to replay, the image opens read-only in both.
        var badCrc = Copy(good, dir.File("crc.vhdx"));
        var entry = VhdxCraftedLog.AddPendingEntry(badCrc, target, new byte[4096]);
        entry[200] ^= 1;
        using (var file = File.OpenWrite(badCrc))
        {
            file.Position = VhdxCraftedLog.LogOffset;
            file.Write(entry);
        }

        Assert.Equal(ExternalTool.QemuImg("info", "--output=json", badCrc), Diskimg.Ok("info", "--output=json", badCrc));

        // A descriptor for an unaligned offset, and one of an unknown kind: the open that would replay fails.
        foreach (var (name, at, value) in new[] { ("unaligned", 64 + 16, 4097UL), ("kind", 64, 0x78787878UL) })
        {
            var crafted = Copy(good, dir.File(name + ".vhdx"));
            var e = VhdxCraftedLog.AddPendingEntry(crafted, target, new byte[4096]);
            if (at == 64)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(at), (uint)value);
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(at), value);
            }

            VhdxCraftedLog.Reseal(crafted, e);
            MigrationInterop.AssertSameOpenFailure(crafted, "vhdx");
            var theirs = ExternalTool.Run("qemu-img", "check", "-r", "all", crafted);
            var ours = Diskimg.Run("check", "-r", "all", crafted);
            Assert.NotEqual(0, theirs.ExitCode);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
            Assert.Equal(theirs.StdErr.Trim().Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ours.StdErr.Trim());
        }
    }

    /// <summary>
    /// Entries QEMU would follow into an endless or enormous write (a zero descriptor of 2^60 bytes, a last file
    /// offset far past anything a VHDX needs) get one clean line from us; QEMU is not run on them.
    /// </summary>
    [Theory]
    [InlineData("zero")]
    [InlineData("last-offset")]
    public void Absurd_log_entries_fail_with_one_line(string kind)
    {
        using var dir = new TempDirectory();
        var image = dir.File("absurd.vhdx");
        ExternalTool.QemuImg("create", "-q", "-f", "vhdx", "-o", "block_size=1M", image, "4M");
        var entry = VhdxCraftedLog.AddPendingEntry(image, 2 << 20, new byte[4096]);
        if (kind == "zero")
        {
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(64), 0x6f72657a); // "zero"
            BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(64 + 8), 1UL << 60);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(56), (1UL << 62) + 12345);
        }

        VhdxCraftedLog.Reseal(image, entry);
        var length = new FileInfo(image).Length;
        var ours = Diskimg.Run("check", "-r", "all", image);
        Assert.Equal(1, ours.ExitCode);
        Assert.Single(ours.StdErr.Trim().Split('\n'));
        Assert.Equal($"diskimg: Could not open '{image}': Could not open '{image}': Invalid argument", ours.StdErr.Trim());
        Assert.Equal(length, new FileInfo(image).Length);
    }

    private static string KilledWriter(TempDirectory dir)
    {
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
            if (ExternalTool.Run("qemu-img", "info", path).ExitCode != 0)
            {
                return path;
            }
        }

        Assert.Fail("no interrupted writer left a pending log in 40 attempts");
        return path;
    }

    /// <remarks>
    /// Log entries carry the log GUID of their header update (random) and a checksum over it; those two fields are
    /// masked. So are the descriptor sectors' bytes past the last descriptor: QEMU fills its entry buffer without
    /// clearing it first, so there it writes leftover heap memory (on most runs zeroes, on some not). Ours must
    /// be zero there when it wrote the log (copies of a file QEMU logged keep QEMU's bytes); everything else in an entry (position, sequence number, offsets, descriptors, data) must match.
    /// </remarks>
    private static void AssertSameOutsideHeaders(string expected, string actual, bool oursWroteTheLog = false)
    {
        var a = MaskLogGuids(File.ReadAllBytes(expected), requireZeroSlack: false);
        var b = MaskLogGuids(File.ReadAllBytes(actual), requireZeroSlack: oursWroteTheLog);
        Assert.Equal(a.Length, b.Length);
        Assert.True(a.AsSpan(0, (int)HeadersStart).SequenceEqual(b.AsSpan(0, (int)HeadersStart)), "file identifiers differ");
        var at = a.AsSpan((int)HeadersEnd).CommonPrefixLength(b.AsSpan((int)HeadersEnd));
        Assert.True(at == a.Length - HeadersEnd, $"files differ at byte {HeadersEnd + at}");
    }

    private static byte[] MaskLogGuids(byte[] file, bool requireZeroSlack)
    {
        var log = file.AsSpan((int)VhdxCraftedLog.LogOffset, 1 << 20);
        for (var at = 0; at < log.Length; at += 4096)
        {
            if (log.Slice(at, 4).SequenceEqual("loge"u8))
            {
                log.Slice(at + 4, 4).Clear();
                log.Slice(at + 32, 16).Clear();

                // The entry header (64 bytes) and 32-byte descriptors fill whole 4 KiB sectors; the rest is slack.
                var descriptors = (int)BinaryPrimitives.ReadUInt32LittleEndian(log[(at + 24)..]);
                var used = 64 + (descriptors * 32);
                var slack = log.Slice(at + used, Math.Min(((used + 4095) / 4096 * 4096) - used, log.Length - at - used));
                Assert.True(!requireZeroSlack || !slack.ContainsAnyExcept((byte)0), $"log entry at {at} has non-zero bytes after its descriptors");
                slack.Clear();
            }
        }

        return file;
    }

    /// <summary>The allocation table region's bytes (offset and length from the region table).</summary>
    private static byte[] TableOf(string path)
    {
        var (offset, length) = Region(path, new Guid("2DC27766-F623-4200-9D64-115E9BFD4A08"));
        var bytes = new byte[length];
        using var file = File.OpenRead(path);
        file.Position = offset;
        file.ReadExactly(bytes);
        return bytes;
    }

    private static long FirstBlockOffset(string path)
    {
        var table = TableOf(path);
        return (long)(BinaryPrimitives.ReadUInt64LittleEndian(table) & ~0xFFFFFUL);
    }

    private static (long Offset, int Length) Region(string path, Guid id)
    {
        var table = new byte[64 * 1024];
        using var file = File.OpenRead(path);
        file.Position = 192 * 1024;
        file.ReadExactly(table);
        for (var i = 0; i < BinaryPrimitives.ReadInt32LittleEndian(table.AsSpan(8)); i++)
        {
            var entry = table.AsSpan(16 + (i * 32), 32);
            if (new Guid(entry[..16]) == id)
            {
                return (BinaryPrimitives.ReadInt64LittleEndian(entry[16..]), BinaryPrimitives.ReadInt32LittleEndian(entry[24..]));
            }
        }

        throw new InvalidOperationException("region missing");
    }

    private static string Copy(string from, string to)
    {
        File.Copy(from, to);
        return to;
    }
}
