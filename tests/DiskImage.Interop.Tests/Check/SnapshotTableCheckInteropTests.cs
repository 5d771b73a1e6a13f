using DiskImage.Interop.Tests.Infrastructure;
using DiskImage.Interop.Tests.Qcow2;

namespace DiskImage.Interop.Tests.Check;

/// <summary>
/// Damaged snapshot table entries planted in a qemu-made image with two snapshots. qemu-img opens such images,
/// and its check reports the damage; ours must open them too and give the same report, exit code and repair.
/// </summary>
public class SnapshotTableCheckInteropTests
{
    [Theory]
    [InlineData("l1-offset-unaligned")]
    [InlineData("l1-offset-past-end")]
    [InlineData("l1-size-too-large")]
    [InlineData("entry-incomplete")]
    [InlineData("count-one-too-many")]
    [InlineData("table-past-end")]
    [InlineData("table-cut-short")]
    [InlineData("name-past-end")]
    public void Damaged_entries_are_reported_and_repaired_like_qemu(string damage)
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        Qcow2Oracle.Create(path, "8M");
        Qcow2Oracle.Io(path, "write -P 1 0 1M");
        ExternalTool.QemuImg("snapshot", "-c", "one", path);
        Qcow2Oracle.Io(path, "write -P 2 0 64k");
        ExternalTool.QemuImg("snapshot", "-c", "two", path);
        Plant(path, damage);

        Assert.Equal(ExternalTool.Run("qemu-img", "info", path).ExitCode, Diskimg.Run("info", path).ExitCode);
        var expected = ExternalTool.Run("qemu-img", "check", path);
        var actual = Diskimg.Run("check", path);
        AssertSameReport(expected, actual);
        var expectedJson = ExternalTool.Run("qemu-img", "check", "--output=json", path);
        var actualJson = Diskimg.Run("check", "--output=json", path);
        Assert.Equal(expectedJson.ExitCode, actualJson.ExitCode);
        Assert.Equal(expectedJson.StdOut, actualJson.StdOut);

        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        File.Copy(path, theirs);
        File.Copy(path, ours);
        AssertSameReport(ExternalTool.Run("qemu-img", "check", "-r", "all", theirs), Diskimg.Run("check", "-r", "all", ours));
        Assert.Equal(ExternalTool.Run("qemu-img", "check", theirs).ExitCode, ExternalTool.Run("qemu-img", "check", ours).ExitCode);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", theirs, ours).ExitCode);
    }

    [Theory]
    [InlineData("l1-offset-unaligned", "Snapshot L1 table offset invalid")]
    [InlineData("l1-size-too-large", "Snapshot L1 table too large")]
    public void Using_a_damaged_snapshot_fails_like_qemu(string damage, string reason)
    {
        using var dir = new TempDirectory();
        var path = dir.File("image.qcow2");
        Qcow2Oracle.Create(path, "8M");
        Qcow2Oracle.Io(path, "write -P 1 0 1M");
        ExternalTool.QemuImg("snapshot", "-c", "one", path);
        Plant(path, damage);
        var before = File.ReadAllBytes(path);

        var qemuConvert = ExternalTool.Run("qemu-img", "convert", "-l", "one", "-O", "raw", path, dir.File("q.raw"));
        var ourConvert = Diskimg.Run("convert", "-l", "one", "-O", "raw", path, dir.File("d.raw"));
        Assert.Equal(qemuConvert.ExitCode, ourConvert.ExitCode);
        Assert.Equal($"diskimg: Failed to load snapshot: {reason}", ourConvert.StdErr.Trim());
        Assert.Equal(qemuConvert.StdErr.Trim().Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ourConvert.StdErr.Trim());

        var copy = dir.File("q.qcow2");
        File.Copy(path, copy);
        var qemuDelete = ExternalTool.Run("qemu-img", "snapshot", "-d", "one", copy);
        var ourDelete = Diskimg.Run("snapshot", "-d", "one", path);
        Assert.Equal(qemuDelete.ExitCode, ourDelete.ExitCode);
        Assert.Equal(qemuDelete.StdErr.Trim().Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), ourDelete.StdErr.Trim());
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    private static void AssertSameReport(ExternalTool.Result expected, ExternalTool.Result actual)
    {
        Assert.Equal(expected.ExitCode, actual.ExitCode);
        Assert.Equal(expected.StdOut, actual.StdOut);
        // QEMU's allocator complains on stderr when it frees a table that lay past the end of the file; that
        // diagnostic belongs to its internals, not to the check report.
        var expectedLines = expected.StdErr.Split('\n').Where(l => !l.StartsWith("qcow2_free_clusters failed", StringComparison.Ordinal));
        Assert.Equal(string.Join('\n', expectedLines).Replace("qemu-img:", "diskimg:", StringComparison.Ordinal), actual.StdErr);
    }

    private static void Plant(string path, string damage)
    {
        var (entries, end) = Qcow2Poke.SnapshotEntries(path);
        var first = entries[0];
        var last = entries[^1];
        switch (damage)
        {
            case "l1-offset-unaligned":
                Qcow2Poke.WriteUInt64(path, first, Qcow2Poke.ReadUInt64(path, first) + 0x200);
                break;
            case "l1-offset-past-end":
                Qcow2Poke.WriteUInt64(path, first, 0x40000000);
                break;
            case "l1-size-too-large":
                Qcow2Poke.WriteUInt32(path, first + 8, 0x500000);
                break;
            case "entry-incomplete":
                // Only 8 bytes of extra data: no disk size, which version 3 requires.
                Qcow2Poke.WriteUInt32(path, last + 36, 8);
                break;
            case "count-one-too-many":
                Qcow2Poke.WriteUInt32(path, 60, (uint)entries.Count + 1);
                break;
            case "table-past-end":
                Qcow2Poke.WriteUInt64(path, 64, 0x40000000);
                break;
            case "table-cut-short":
                using (var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite))
                {
                    file.SetLength(end - 10);
                }

                break;
            case "name-past-end":
                Qcow2Poke.WriteUInt16(path, last + 14, 60000);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(damage));
        }
    }
}
