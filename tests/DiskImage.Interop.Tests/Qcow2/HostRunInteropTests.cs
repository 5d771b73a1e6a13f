using System.Text.Json;
using DiskImage.Interop.Tests.Infrastructure;

namespace DiskImage.Interop.Tests.Qcow2;

/// <summary>
/// Which host clusters writes take, compared with qemu-io 7.2 running the same command sequences on identical images:
/// the host offsets of <c>qemu-img map --output=json</c> must be the same. Covers a multi-cluster write with a partial
/// first or last cluster (one run, so a single free cluster is skipped and taken later), a run continued right after
/// clusters the write owns, rewrites of compressed clusters and of clusters shared with a snapshot, zero writes that
/// fall back to data, and clusters freed earlier in the same qemu-io run.
/// </summary>
public class HostRunInteropTests
{
    public static TheoryData<string, string, string[][]> Sequences => new()
    {
        {
            // A single-cluster hole, then a write of a partial cluster and two more: one run of three goes past the
            // hole, and the next write fills it.
            "cluster_size=64k", "4M",
            [["write -P 1 0 192k"], ["discard 64k 64k"], ["write -P 2 1056k 130k"], ["write -P 3 2M 64k"]]
        },
        {
            // The same, all in one qemu-io run: the cluster freed by the discard is found again by later writes.
            "cluster_size=64k", "4M",
            [["write -P 1 0 192k", "discard 64k 64k", "write -P 2 1056k 130k", "write -P 3 2M 64k"]]
        },
        {
            // A write from an owned cluster into unallocated ones continues right after it when that cluster is free.
            "cluster_size=64k", "4M",
            [["write -P 1 0 64k"], ["write -P 1 1M 64k"], ["write -P 1 2M 64k"], ["discard 0 64k"], ["discard 2M 64k"], ["write -P 3 1056k 64k"], ["write -P 4 3M 64k"]]
        },
        {
            // Compressed clusters rewritten in part (each needs a new cluster; the compressed ones are freed).
            "cluster_size=64k,extended_l2=on", "4M",
            [["write -c -P 1 0 64k"], ["write -c -P 2 64k 64k"], ["write -c -P 3 128k 64k"], ["write -c -P 4 192k 64k"],
             ["write -P 5 32k 96k"], ["write -z -u 97k 129k"], ["write -P 6 1M 64k"]]
        },
    };

    [Theory]
    [MemberData(nameof(Sequences))]
    public void Host_offsets_after_a_write_sequence_are_qemu_io_s(string options, string size, string[][] invocations)
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", options, theirs, size);
        File.Copy(theirs, ours);
        foreach (var commands in invocations)
        {
            ExternalTool.QemuIo([.. commands.SelectMany(c => new[] { "-c", c }), theirs]);
            Diskimg.Ok(["io", .. commands.SelectMany(c => new[] { "-c", c }), ours]);
        }

        Assert.Equal(Map(theirs), Map(ours));
        Assert.Equal(new FileInfo(theirs).Length, new FileInfo(ours).Length);
        ExternalTool.QemuImg("check", ours);
        ExternalTool.QemuImg("compare", theirs, ours);
    }

    /// <summary>Partial writes over clusters a snapshot shares: each write's new clusters are one run, and the snapshot's copies stay.</summary>
    [Fact]
    public void Partial_writes_over_snapshot_clusters_take_qemu_io_s_host_offsets()
    {
        using var dir = new TempDirectory();
        var theirs = dir.File("theirs.qcow2");
        var ours = dir.File("ours.qcow2");
        ExternalTool.QemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=4k", theirs, "1M");
        ExternalTool.QemuIo("-c", "write -P 1 0 64k", "-c", "write -P 9 128k 4k", theirs);
        ExternalTool.QemuImg("snapshot", "-c", "s1", theirs);
        ExternalTool.QemuIo("-c", "discard 128k 4k", theirs);
        File.Copy(theirs, ours);
        string[] commands = ["-c", "write -P 2 6k 9k", "-c", "write -P 3 30k 12k", "-c", "write -P 4 200k 8k"];
        ExternalTool.QemuIo([.. commands, theirs]);
        Diskimg.Ok(["io", .. commands, ours]);

        Assert.Equal(Map(theirs), Map(ours));
        ExternalTool.QemuImg("check", ours);
        ExternalTool.QemuImg("compare", theirs, ours);
    }

    /// <summary>Each extent of <c>qemu-img map --output=json</c>, host offset included.</summary>
    private static List<string> Map(string image)
    {
        using var json = JsonDocument.Parse(ExternalTool.QemuImg("map", "--output=json", image));
        return [.. json.RootElement.EnumerateArray().Select(e => e.GetRawText())];
    }
}
