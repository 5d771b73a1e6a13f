using System.Text.RegularExpressions;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Lifecycle;

/// <summary>
/// Snapshot table entries with short or unknown extra data (<see cref="CraftedSnapshotTable"/>) through every
/// verb that rewrites the table. The same verb runs with qemu-img on one copy and with diskimg on another:
/// exit codes, <c>qemu-img snapshot -l</c> and every entry's extra data bytes must be the same, our result
/// must pass <c>qemu-img check</c>, and the unknown bytes must still be there.
/// </summary>
public partial class SnapshotExtraDataInteropTests
{
    [Theory]
    [InlineData("amend -o compat=1.1")]
    [InlineData("amend -o compat=1.1,refcount_bits=64")]
    [InlineData("amend -o compat=1.1,lazy_refcounts=on")]
    [InlineData("snapshot -c added")]
    [InlineData("snapshot -d snap1")]
    [InlineData("snapshot -d snap4")]
    [InlineData("snapshot -a snap2")]
    [InlineData("check -r all")]
    public void Verbs_on_a_version_2_table_keep_extra_data_as_qemu_img_does(string verb) => AssertLikeQemu([], verb);

    [Theory]
    [InlineData("amend -o compat=0.10")]
    [InlineData("snapshot -c added")]
    [InlineData("snapshot -d snap0")]
    [InlineData("resize 16M")]
    [InlineData("check -r all")]
    [InlineData("commit")]
    public void Verbs_after_an_upgrade_keep_extra_data_as_qemu_img_does(string verb) => AssertLikeQemu(["amend -o compat=1.1"], verb);

    [Fact]
    public void A_convert_of_the_crafted_image_matches_qemu_img()
    {
        // Conversions do not carry internal snapshots: both copies must come out without them and with the same content.
        using var dir = new TempDirectory();
        var source = dir.File("source.qcow2");
        CraftedSnapshotTable.Create(source);
        Diskimg.Ok("convert", "-O", "qcow2", source, dir.File("ours.qcow2"));
        ExternalTool.QemuImg("convert", "-O", "qcow2", source, dir.File("theirs.qcow2"));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", dir.File("ours.qcow2")).ExitCode);
        Assert.Equal(ExternalTool.QemuImg("snapshot", "-l", dir.File("theirs.qcow2")), ExternalTool.QemuImg("snapshot", "-l", dir.File("ours.qcow2")));
        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", dir.File("theirs.qcow2"), dir.File("ours.qcow2")).ExitCode);
    }

    private static void AssertLikeQemu(string[] before, string verb)
    {
        using var dir = new TempDirectory();
        var crafted = dir.File("crafted.qcow2");
        CraftedSnapshotTable.Create(crafted);
        Assert.Equal(0, ExternalTool.Run("qemu-img", "check", crafted).ExitCode);
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        File.Copy(crafted, theirs);
        File.Copy(crafted, ours);
        if (verb == "commit")
        {
            // commit needs an overlay: one over each copy, written through qemu-io.
            theirs = AddOverlay(dir, theirs, "theirs-top.qcow2");
            ours = AddOverlay(dir, ours, "ours-top.qcow2");
        }

        foreach (var step in before)
        {
            ExternalTool.QemuImg([.. Words(step), Base(theirs)]);
            ExternalTool.QemuImg([.. Words(step), Base(ours)]);
        }

        var expected = ExternalTool.Run("qemu-img", [.. Words(verb), theirs]);
        var actual = Diskimg.Run([.. Words(verb), ours]);
        Assert.True(expected.ExitCode == actual.ExitCode, $"qemu-img exit {expected.ExitCode} ({expected.StdErr}), diskimg exit {actual.ExitCode} ({actual.StdErr})");

        var check = ExternalTool.Run("qemu-img", "check", Base(ours));
        Assert.True(check.ExitCode == 0, $"qemu-img check: {check.StdOut}{check.StdErr}");
        Assert.Equal(Listing(Base(theirs), verb), Listing(Base(ours), verb));
        var theirExtra = CraftedSnapshotTable.ExtraData(Base(theirs));
        var ourExtra = CraftedSnapshotTable.ExtraData(Base(ours));
        Assert.Equal(theirExtra.Count, ourExtra.Count);
        for (var i = 0; i < theirExtra.Count; i++)
        {
            if (verb.StartsWith("snapshot -c", StringComparison.Ordinal) && i == theirExtra.Count - 1)
            {
                Assert.Equal(theirExtra[i].Length, ourExtra[i].Length); // the new entry: same layout, its own VM clock
                continue;
            }

            Assert.Equal(theirExtra[i], ourExtra[i]);
        }

        if (!verb.StartsWith("snapshot -d snap4", StringComparison.Ordinal))
        {
            Assert.Contains(ourExtra, e => e.AsSpan().IndexOf(CraftedSnapshotTable.UnknownPayload) >= 0);
        }

        Assert.Equal(0, ExternalTool.Run("qemu-img", "compare", Base(theirs), Base(ours)).ExitCode);
    }

    private static string AddOverlay(TempDirectory dir, string backing, string name)
    {
        var top = dir.File(name);
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-b", backing, "-F", "qcow2", top);
        ExternalTool.QemuIo("-f", "qcow2", "-c", "write -P 0x77 2M 128k", top);
        return top;
    }

    /// <summary>The image that holds the snapshot table: the backing file of a commit overlay, else the image itself.</summary>
    private static string Base(string path) =>
        path.EndsWith("-top.qcow2", StringComparison.Ordinal) ? path.Replace("-top.qcow2", ".qcow2", StringComparison.Ordinal) : path;

    private static string[] Words(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary><c>qemu-img snapshot -l</c>; a snapshot made just now gets its own date and clock, so those are masked then.</summary>
    private static string Listing(string path, string verb)
    {
        var listing = ExternalTool.QemuImg("snapshot", "-l", path);
        return verb.StartsWith("snapshot -c", StringComparison.Ordinal) ? DateAndClock().Replace(listing, "DATE CLOCK") : listing;
    }

    [GeneratedRegex(@"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d\d:\d\d:\d\d\.\d{3}")]
    private static partial Regex DateAndClock();
}
