using DiskImage.IO;
using DiskImage.IO.Quorum;
using DiskImage.Options;
using DiskImage.Tests.Infrastructure;

namespace DiskImage.Tests.IO;

/// <summary>
/// The quorum node's vote, as QEMU's block/quorum.c defines it: the data most children return wins if at least the
/// threshold returned it, else the read fails with EIO; of versions with equal votes the one first returned by the
/// later child wins (QEMU adds each new version at the head of its list and keeps the first maximum); children of
/// different lengths make the length EIO. Its options are checked with QEMU's messages.
/// </summary>
public class QuorumStorageTests
{
    [Fact]
    public void The_majority_wins_when_it_reaches_the_threshold()
    {
        using var dir = new TempDirectory();
        using var quorum = Open(dir, threshold: 2, 0x11, 0x22, 0x11);
        var buffer = new byte[4096];
        quorum.Read(0, buffer);
        Assert.All(buffer, b => Assert.Equal(0x11, b));
    }

    [Fact]
    public void A_read_without_enough_agreeing_children_fails_with_EIO()
    {
        using var dir = new TempDirectory();
        using var quorum = Open(dir, threshold: 2, 0x11, 0x22);
        var e = Assert.Throws<IOException>(() => quorum.Read(0, new byte[512]));
        Assert.Equal(5, e.HResult);
    }

    [Fact]
    public void Of_equal_votes_the_later_childs_version_wins()
    {
        using var dir = new TempDirectory();
        using var quorum = Open(dir, threshold: 1, 0x11, 0x22);
        var buffer = new byte[512];
        quorum.Read(512, buffer);
        Assert.All(buffer, b => Assert.Equal(0x22, b));
    }

    [Fact]
    public void Children_that_agree_only_in_part_vote_per_request()
    {
        using var dir = new TempDirectory();
        var paths = new[] { dir.File("a"), dir.File("b") };
        File.WriteAllBytes(paths[0], [.. new byte[4096], .. Enumerable.Repeat((byte)1, 4096)]);
        File.WriteAllBytes(paths[1], new byte[8192]);
        using var quorum = new QuorumStorage([.. paths.Select(p => HostFile.Open(p, writable: false))], 2, "json:{}");
        quorum.Read(0, new byte[4096]);
        Assert.Throws<IOException>(() => quorum.Read(4096, new byte[4096]));
        Assert.Throws<IOException>(() => quorum.Read(0, new byte[8192]));
    }

    [Fact]
    public void Children_of_different_lengths_have_no_length_and_writes_are_refused()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("a"), new byte[1024]);
        File.WriteAllBytes(dir.File("b"), new byte[2048]);
        using var quorum = new QuorumStorage([HostFile.Open(dir.File("a"), writable: false), HostFile.Open(dir.File("b"), writable: false)], 1, "json:{}");
        Assert.Equal(5, Assert.Throws<IOException>(() => quorum.Length).HResult);
        Assert.Equal(30, Assert.Throws<IOException>(() => quorum.Write(0, new byte[512])).HResult);
    }

    [Theory]
    [InlineData("'vote-threshold': 3, 'children': [{'driver': 'file', 'filename': 'a'}, {'driver': 'file', 'filename': 'b'}]", "threshold may not exceed children count")]
    [InlineData("'children': [{'driver': 'file', 'filename': 'a'}]", "Parameter 'vote-threshold' expects a value >= 1")]
    [InlineData("'vote-threshold': 0, 'children': [{'driver': 'file', 'filename': 'a'}]", "Parameter 'vote-threshold' expects a value >= 1")]
    [InlineData("'vote-threshold': 1", "Number of provided children must be 1 or more")]
    [InlineData("'vote-threshold': 1, 'read-pattern': 'random', 'children': [{'driver': 'file', 'filename': 'a'}]", "Please set read-pattern as fifo or quorum")]
    public void Quorum_options_are_checked_with_qemus_messages(string members, string message)
    {
        var e = Assert.Throws<InvalidOptionException>(() => BlockSpec.FromJson($"json:{{'driver': 'qcow2', 'file': {{'driver': 'quorum', {members}}}}}"));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void A_quorum_node_keeps_its_children_and_threshold()
    {
        var spec = BlockSpec.FromJson("json:{'driver': 'qcow2', 'file': {'driver': 'quorum', 'vote-threshold': 2, 'children': [{'driver': 'file', 'filename': 'a'}, {'filename': 'b'}, {'driver': 'file', 'filename': 'c'}]}}");
        Assert.Equal(["a", "b", "c"], spec.Quorum!.Children);
        Assert.Equal(2, spec.Quorum.Threshold);
        Assert.False(spec.IsPlain);
        Assert.StartsWith("json:", spec.DisplayName, StringComparison.Ordinal);
    }

    private static QuorumStorage Open(TempDirectory dir, int threshold, params byte[] fills)
    {
        var children = new List<IStorage>();
        for (var i = 0; i < fills.Length; i++)
        {
            var path = dir.File($"child{i}");
            File.WriteAllBytes(path, Enumerable.Repeat(fills[i], 8192).ToArray());
            children.Add(HostFile.Open(path, writable: false));
        }

        return new QuorumStorage(children, threshold, "json:{}");
    }
}
