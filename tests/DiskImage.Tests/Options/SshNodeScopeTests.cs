using DiskImage.Options;

namespace DiskImage.Tests.Options;

/// <summary>
/// An ssh node given as options reads back from its ssh:// name as itself only while its open runs: outside that
/// scope (another open, a later command in the same process) the name is read as QEMU reads a name, so nothing is
/// kept per node, and one open's node never stands in for another's.
/// </summary>
public class SshNodeScopeTests
{
    private const string Json = """json:{"driver": "ssh", "server": {"host": "127.0.0.1", "port": "2222"}, "path": "/d/a.img", "host-key-check": {"mode": "none"}}""";

    [Fact]
    public void The_structured_node_reads_back_only_inside_its_open()
    {
        var spec = BlockSpec.FromJson(Json);
        Assert.Equal("ssh://127.0.0.1:2222/d/a.img?host_key_check=no", spec.Filename);

        // Outside the open the name is the legacy query it spells.
        Assert.Equal("no", SshNode.FromUri(spec.Filename).LegacyHostKeyCheck);
        using (SshNode.Given(spec.Ssh))
        {
            var inside = SshNode.FromUri(spec.Filename);
            Assert.Null(inside.LegacyHostKeyCheck);
            Assert.Equal(SshHostKeyMode.None, inside.HostKeyCheck.Mode);

            // Another name inside the same open is read as written.
            Assert.Equal("/d/b.img", SshNode.FromUri("ssh://127.0.0.1:2222/d/b.img").Path);
        }

        Assert.Equal("no", SshNode.FromUri(spec.Filename).LegacyHostKeyCheck);
    }

    [Fact]
    public async Task A_node_given_inside_another_flow_never_reaches_its_caller()
    {
        var spec = BlockSpec.FromJson(Json);

        // Given and left undisposed in a task of its own: the node belongs to that flow only.
        var inside = await Task.Run(() =>
        {
            SshNode.Given(spec.Ssh);
            return SshNode.FromUri(spec.Filename);
        });

        Assert.Null(inside.LegacyHostKeyCheck);
        Assert.Equal("no", SshNode.FromUri(spec.Filename).LegacyHostKeyCheck);
    }
}
