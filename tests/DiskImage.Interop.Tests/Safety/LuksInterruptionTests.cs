using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Safety;

/// <summary>
/// SIGKILL in the middle of writes to a standalone <c>luks</c> image and of key slot amendments, judged by qemu-img and
/// qemu-io 7.2. A killed write leaves every sector either its old or its new content (never bytes that decrypt to
/// something else); a killed amendment leaves an image that opens with the key it had, because key material is
/// written before the header names it, and a slot is only named inactive after its material is wiped (QEMU's order).
/// </summary>
public sealed class LuksInterruptionTests
{
    private static readonly string[] s_secrets = ["--object", "secret,id=sec0,data=old-key", "--object", "secret,id=sec1,data=new-key"];

    private static string Opts(string path, string secret = "sec0") => $"driver=luks,key-secret={secret},file.filename={path}";

    private static string QemuMade(TempDirectory dir, long megabytes)
    {
        var path = dir.File("t.luks");
        ExternalTool.QemuImg(["create", "-q", "-f", "luks", .. s_secrets, "-o", "key-secret=sec0,iter-time=10", path, $"{megabytes}M"]);
        ExternalTool.QemuIo([.. s_secrets, "--image-opts", "-c", $"write -P 0x11 0 {megabytes}M", Opts(path)]);
        return path;
    }

    /// <summary>The writes the killed process makes, in order: the last one starts inside a sector (a read-modify-write).</summary>
    private static readonly (byte Pattern, long Offset, long Length)[] s_writes =
        [(0x22, 0, 32 << 20), (0x33, 32 << 20, 32 << 20), (0x44, 1000, 1 << 20)];

    /// <summary>
    /// Each 512-byte sector as qemu-img reads it with the right key must be what that sector held after some prefix of
    /// <see cref="s_writes"/> (all 0x11 before the first): a sector is written whole, never half old and half new.
    /// </summary>
    private static void AssertEachSectorIsFromSomeWritePrefix(string path)
    {
        var raw = path + ".plain";
        ExternalTool.QemuImg(["convert", .. s_secrets, "--image-opts", Opts(path), "-O", "raw", raw]);
        var bytes = File.ReadAllBytes(raw);
        File.Delete(raw);
        var expected = new byte[512];
        for (var sector = 0; sector < bytes.Length; sector += 512)
        {
            var span = bytes.AsSpan(sector, 512);
            var matched = false;
            for (var prefix = 0; prefix <= s_writes.Length && !matched; prefix++)
            {
                SectorAfter(sector, prefix, expected);
                matched = span.SequenceEqual(expected);
            }

            Assert.True(matched, $"sector {sector / 512} matches no state the writes pass through (first byte 0x{span[0]:x2}, last 0x{span[^1]:x2})");
        }
    }

    /// <summary>Fills <paramref name="sector"/> with what the sector at <paramref name="start"/> holds after the first <paramref name="prefix"/> writes.</summary>
    private static void SectorAfter(long start, int prefix, Span<byte> sector)
    {
        sector.Fill(0x11);
        foreach (var (pattern, offset, length) in s_writes.AsSpan(0, prefix))
        {
            var from = Math.Max(offset, start);
            var to = Math.Min(offset + length, start + sector.Length);
            if (from < to)
            {
                sector[(int)(from - start)..(int)(to - start)].Fill(pattern);
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void A_write_killed_midway_leaves_old_or_new_sectors_only(int attempt)
    {
        using var dir = new TempDirectory();
        var path = QemuMade(dir, 64);
        var commands = s_writes.SelectMany(w => new[] { "-c", $"write -P 0x{w.Pattern:x2} {w.Offset} {w.Length}" });
        using var process = DiskimgProcess.Start(dir.Path, false, ["io", .. s_secrets, "--image-opts", Opts(path), .. commands]);
        // Unlocking takes a few milliseconds; the writes then run for a while: kill at a different point each attempt.
        Thread.Sleep(200 + (attempt * 350) + Random.Shared.Next(0, 300));
        process.Signal(DiskimgProcess.SIGKILL);
        process.WaitForExit(TimeSpan.FromSeconds(120));

        // The header is untouched by data writes: the old key opens the image, and qemu-img sees no damage.
        Assert.Contains("read 512/512 bytes", ExternalTool.QemuIo([.. s_secrets, "--image-opts", "-c", "read 0 512", Opts(path)]), StringComparison.Ordinal);
        AssertEachSectorIsFromSomeWritePrefix(path);
    }

    [Theory]
    [InlineData("state=active,new-secret=sec1,iter-time=400", 0)]
    [InlineData("state=active,new-secret=sec1,iter-time=400", 1)]
    [InlineData("state=active,new-secret=sec1,keyslot=5,iter-time=400", 2)]
    public void An_added_key_slot_killed_midway_leaves_the_old_key_working(string amend, int attempt)
    {
        using var dir = new TempDirectory();
        var path = QemuMade(dir, 4);
        using var process = DiskimgProcess.Start(dir.Path, false, ["amend", .. s_secrets, "--image-opts", Opts(path), "-o", amend]);
        Thread.Sleep(150 + (attempt * 200) + Random.Shared.Next(0, 300));
        process.Signal(DiskimgProcess.SIGKILL);
        var result = process.WaitForExit(TimeSpan.FromSeconds(120));

        var old = ExternalTool.Run("qemu-io", [.. s_secrets, "--image-opts", "-c", "read -P 0x11 0 4M", Opts(path)]);
        Assert.True(old.ExitCode == 0 && !old.StdOut.Contains("Pattern verification failed", StringComparison.Ordinal), old.StdOut + old.StdErr);

        // The new key works exactly when the header names its slot: either the amendment happened or it did not.
        var info = ExternalTool.QemuImg("info", path);
        var added = ExternalTool.Run("qemu-io", [.. s_secrets, "--image-opts", "-c", "read -P 0x11 0 4M", Opts(path, "sec1")]);
        var active = info.Split("active: true").Length - 1;
        Assert.True(active is 1 or 2, info);
        Assert.Equal(active == 2, added.ExitCode == 0 && !added.StdOut.Contains("Pattern verification failed", StringComparison.Ordinal));
        if (result.ExitCode == 0)
        {
            Assert.Equal(2, active);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_key_slot_erase_killed_midway_leaves_the_other_key_working(int attempt)
    {
        using var dir = new TempDirectory();
        var path = QemuMade(dir, 4);
        ExternalTool.QemuImg(["amend", .. s_secrets, "--image-opts", Opts(path), "-o", "state=active,new-secret=sec1,iter-time=10"]);
        using var process = DiskimgProcess.Start(dir.Path, false, ["amend", .. s_secrets, "--image-opts", Opts(path), "-o", "state=inactive,old-secret=sec1"]);
        Thread.Sleep(100 + (attempt * 150) + Random.Shared.Next(0, 150));
        process.Signal(DiskimgProcess.SIGKILL);
        process.WaitForExit(TimeSpan.FromSeconds(120));

        var old = ExternalTool.Run("qemu-io", [.. s_secrets, "--image-opts", "-c", "read -P 0x11 0 4M", Opts(path)]);
        Assert.True(old.ExitCode == 0 && !old.StdOut.Contains("Pattern verification failed", StringComparison.Ordinal), old.StdOut + old.StdErr);
    }
}
