using DiskImage.IO;
using DiskImage.IO.Blkdebug;

namespace DiskImage.Tests.IO;

/// <summary>
/// blkdebug's rules (QEMU's config-file syntax and node options) and the node's semantics, checked against what
/// QEMU's block/blkdebug.c and util/qemu-config.c define: default errno EIO, state 1 at open, <c>once</c> dropping a
/// rule, an event's injection rules replacing the active set, sector matching, and QEMU's parse errors.
/// </summary>
public class BlkdebugRulesTests
{
    [Fact]
    public void A_rules_file_gives_rules_with_qemus_defaults()
    {
        var rules = BlkdebugRules.ParseConfigText("# comment\n\n[inject-error]\nevent = \"read_aio\"\nonce =\"on\"\n[set-state]\nevent = \"l2_load\"\n  new_state = \"3\"\n");

        Assert.Equal(2, rules.Count);
        var inject = rules[0];
        Assert.Equal((BlkdebugEvent.ReadAio, BlkdebugAction.InjectError, 5, true, -1L, 0), (inject.Event, inject.Action, inject.Errno, inject.Once, inject.Offset, inject.State));
        Assert.Equal(BlkdebugIoTypes.Read | BlkdebugIoTypes.Write | BlkdebugIoTypes.WriteZeroes | BlkdebugIoTypes.Discard | BlkdebugIoTypes.Flush, inject.IoTypes);
        Assert.Equal((BlkdebugEvent.L2Load, BlkdebugAction.SetState, 3), (rules[1].Event, rules[1].Action, rules[1].NewState));
    }

    [Fact]
    public void Options_give_the_same_rules_as_a_file()
    {
        var rules = BlkdebugRules.ParseOptions([
            new("set-state.0.event", "write_aio"), new("set-state.0.new_state", "2"),
            new("inject-error.0.event", "write_aio"), new("inject-error.0.state", "2"), new("inject-error.0.sector", "0x10"),
            new("inject-error.0.iotype", "flush"), new("inject-error.1.event", "cow_read"), new("inject-error.1.errno", "28"),
        ]);

        // Injection rules are created before state rules whatever the order given, as QEMU's read_config does.
        Assert.Equal([BlkdebugAction.InjectError, BlkdebugAction.InjectError, BlkdebugAction.SetState], rules.Select(r => r.Action));
        Assert.Equal((2, 16 * 512L, BlkdebugIoTypes.Flush), (rules[0].State, rules[0].Offset, rules[0].IoTypes));
        Assert.Equal((BlkdebugEvent.CowRead, 28), (rules[1].Event, rules[1].Errno));
    }

    [Theory]
    [InlineData("event = \"read_aio\"\n", "no group defined")]
    [InlineData("[inject-error]\nevent=\"read_aio\"\n", "parse error")]
    [InlineData("[inject-error]\nevent = read_aio\n", "parse error")]
    [InlineData("[inject-error]\n \n", "parse error")]
    [InlineData("[bogus]\nevent = \"read_aio\"\n", "There is no option group 'bogus'")]
    [InlineData("[inject-error]\nfoo = \"1\"\n", "Invalid parameter 'foo'")]
    [InlineData("[inject-error]\nevent = \"nope\"\n", "invalid parameter value: nope")]
    [InlineData("[inject-error]\nerrno = \"5\"\n", "Missing event name for rule")]
    [InlineData("[inject-error]\nevent = \"read_aio\"\nerrno = \"five\"\n", "Parameter 'errno' expects a number")]
    [InlineData("[inject-error]\nevent = \"read_aio\"\nonce = \"maybe\"\n", "Parameter 'once' expects 'on' or 'off'")]
    [InlineData("[inject-error]\nevent = \"read_aio\"\niotype = \"trim\"\n", "invalid parameter value: trim")]
    [InlineData("[set-state]\nevent = \"read_aio\"\nerrno = \"5\"\n", "Invalid parameter 'errno'")]
    [InlineData("[inject-error]\nevent = \"read_aio\"\nsector = \"99999999999999999999\"\n", "Value '99999999999999999999' is too large for parameter 'sector'")]
    [InlineData("[inject-error \"a\"]\nevent = \"read_aio\"\n[inject-error \"a\"]\nevent = \"read_aio\"\n", "Duplicate ID 'a' for inject-error")]
    public void Bad_rules_files_fail_with_qemus_message(string text, string message) =>
        Assert.Equal(message, Assert.Throws<InvalidOptionException>(() => BlkdebugRules.ParseConfigText(text)).Message);

    [Theory]
    [InlineData("inject-error.event", "read_aio", "inject-error.bogus", "Unknown option 'bogus' for [inject-error]")]
    [InlineData("inject-error.0.event", "read_aio", "inject-error.0.bogus", "[inject-error] section doesn't support the option 'bogus'")]
    [InlineData("inject-error.0.event", "read_aio", "inject-error.2.event", "Unused option '2.event' for [inject-error]")]
    public void Bad_rule_options_fail_with_qemus_message(string key1, string value1, string key2, string message) =>
        Assert.Equal(message, Assert.Throws<InvalidOptionException>(() => BlkdebugRules.ParseOptions([new(key1, value1), new(key2, "1")])).Message);

    [Fact]
    public void An_event_activates_its_rules_until_another_event_replaces_them()
    {
        using var node = Node("[inject-error]\nevent = \"l2_load\"\n[inject-error]\nevent = \"read_aio\"\nerrno = \"0\"\n");
        var buffer = new byte[512];
        node.Read(0, buffer);
        node.Event(BlkdebugEvent.L2Load);
        Assert.Equal(5, Assert.Throws<IOException>(() => node.Read(0, buffer)).HResult);
        Assert.Equal("Input/output error", Assert.Throws<IOException>(() => node.Write(0, buffer)).Message);

        // read_aio's rule has errno 0: it replaces the active set and lets requests through.
        node.Event(BlkdebugEvent.ReadAio);
        node.Read(0, buffer);
    }

    [Fact]
    public void A_once_rule_fails_one_request_and_a_sector_rule_only_requests_covering_it()
    {
        using var node = Node("[inject-error]\nevent = \"write_aio\"\nerrno = \"28\"\nonce = \"on\"\nsector = \"8\"\n");
        var buffer = new byte[4096];
        node.Event(BlkdebugEvent.WriteAio);
        node.Write(0, buffer);
        Assert.Equal("No space left on device", Assert.Throws<IOException>(() => node.Write(4096, buffer)).Message);
        node.Write(4096, buffer);
        node.Event(BlkdebugEvent.WriteAio);
        node.Write(4096, buffer);
    }

    [Fact]
    public void State_rules_see_the_state_before_the_event()
    {
        using var node = Node("[set-state]\nevent = \"write_aio\"\nnew_state = \"2\"\n[inject-error]\nevent = \"write_aio\"\nstate = \"2\"\n");
        var buffer = new byte[512];
        Assert.Equal(1, node.State);
        node.Event(BlkdebugEvent.WriteAio);
        Assert.Equal(2, node.State);
        node.Write(0, buffer);
        node.Event(BlkdebugEvent.WriteAio);
        Assert.Throws<IOException>(() => node.Write(0, buffer));
    }

    [Fact]
    public void Rules_on_none_are_active_from_the_open_on()
    {
        using var node = Node("[inject-error]\nevent = \"none\"\niotype = \"flush\"\n");
        var buffer = new byte[512];
        node.Read(0, buffer);
        node.Write(0, buffer);
        Assert.Throws<IOException>(node.Flush);
    }

    private static BlkdebugStorage Node(string rules)
    {
        var path = Path.Combine(Path.GetTempPath(), $"blkdebug-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, new byte[1 << 16]);
        try
        {
            return new BlkdebugStorage(HostFile.Open(path, writable: true), BlkdebugRules.ParseConfigText(rules));
        }
        finally
        {
            File.Delete(path); // the open descriptor keeps the file until the node is disposed
        }
    }
}
