using DiskImage.Options;

namespace DiskImage.Tests.Reliability;

/// <summary>
/// Mutation fuzzing of <c>json:</c> file names: valid names with bytes flipped, inserted, deleted and
/// repeated must parse or fail with a <see cref="DiskImageException"/>, never anything else.
/// </summary>
public class JsonFilenameFuzzTests
{
    private static readonly string[] s_seeds =
    [
        """json:{"driver":"raw","offset":512,"size":1048576,"file":{"driver":"file","filename":"r.img"}}""",
        """json:{'driver':'qcow2','backing':null,'force-share':true,'file':{'filename':'q\u0041','locking':'off'}}""",
        """json:{"driver":"raw","file":{"driver":"nbd","server":{"type":"inet","host":"h","port":"1"},"export":"e"},"x":[1,[2,{}]]}""",
        """json:{"driver":"qcow2","file":{"driver":"raw","offset":65536,"size":"1M","file":{"driver":"qcow2","file":{"filename":"n.qcow2"}}}}""",
        """json:{"driver":"qcow2","file":{"driver":"blkdebug","align":512,"inject-error":[{"event":"write_aio","errno":28,"once":true,"sector":8}],"set-state":[{"event":"l2_load","new_state":2}],"image":{"driver":"file","filename":"b.qcow2"}}}""",
        """json:{"driver":"blkdebug","align":4096,"max-transfer":65536,"opt-write-zero":"15M","max-discard":1048576,"x-image":"t.qcow2","image":{"driver":"qcow2"}}""",
        """json:{"driver":"qcow2","file":{"driver":"quorum","vote-threshold":2,"read-pattern":"quorum","children":[{"driver":"file","filename":"a"},{"filename":"b"},{"driver":"file","filename":"c"}]}}""",
        """json:{"driver":"compress","file":{"driver":"copy-on-read","file":{"driver":"qcow2","cache":{"direct":true},"file":{"driver":"file","filename":"c.qcow2"}}}}""",
        """json:{"driver":"qcow2","file":{"filename":"o.qcow2"},"backing":{"driver":"qcow2","file":{"driver":"file","filename":"b.qcow2"}}}""",
        """json:{"driver":"host_device","filename":"/dev/null","locking":"off","force-share":false}""",
    ];

    private static readonly string s_alphabet = "{}[]:,\"'\\ntfu0123456789.-eE \u00e9";

    [Fact]
    public void Mutated_names_fail_only_with_diskimage_errors()
    {
        var random = new Random(20261130);
        var iterations = TextMutator.Iterations();
        var failures = new List<string>();
        for (var i = 0; i < iterations && failures.Count < 5; i++)
        {
            var name = TextMutator.Mutate(s_seeds[i % s_seeds.Length], random, s_alphabet, keep: 5);
            try
            {
                _ = BlockSpec.FromJson(name);

                // The filters on top peeled as every spelling of a name peels them, then the node under them.
                var peeled = FilterNodes.Peel(JsonFilename.Parse(name), v => v.Text, JsonScalar.String);
                _ = BlockSpec.FromOptions(peeled.Options);
            }
            catch (DiskImageException)
            {
            }
#pragma warning disable CA1031 // Anything else is the finding being looked for.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add($"{name}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }
}
