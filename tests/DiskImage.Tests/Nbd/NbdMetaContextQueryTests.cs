using System.Text;
using DiskImage.Nbd;

namespace DiskImage.Tests.Nbd;

/// <summary>
/// Meta context matching as qemu-nbd 7.2 does it (nbd/server.c's namespace rules): worked examples, and mutated
/// queries that must select only what their text up to the first NUL names exactly, never throw.
/// </summary>
public class NbdMetaContextQueryTests
{
    private static readonly string[] s_bitmaps = ["b1", "b2", "été"];

    public static TheoryData<string, bool, bool, bool, string> Cases => new()
    {
        // query, set, allocation-depth offered, expected base, expected bitmaps ("" none, else selected names joined by ',')
        { "base:allocation", true, true, true, "" },
        { "base:", true, true, false, "" },
        { "base:", false, true, true, "" },
        { "base:allocation2", false, true, false, "" },
        { "qemu:", true, true, false, "" },
        { "qemu:", false, true, false, "b1,b2,été" },
        { "qemu:dirty-bitmap:", false, false, false, "b1,b2,été" },
        { "qemu:dirty-bitmap:", true, false, false, "" },
        { "qemu:dirty-bitmap:b2", true, false, false, "b2" },
        { "qemu:dirty-bitmap:été", true, false, false, "été" },
        { "qemu:dirty-bitmap:b", true, false, false, "" },
        { "qemu:dirty-bitmap:b1 ", true, false, false, "" },
        { "qemu:dirty-bitmap:B1", true, false, false, "" },
        { "qemu:dirty-bitmap:b1\0junk", true, false, false, "b1" },
        { "qemu:dirty-bitmap\0:b1", true, false, false, "" },
        { "qemu:dirty-bitmap:*", false, false, false, "" },
        { "QEMU:dirty-bitmap:b1", true, false, false, "" },
        { "other:dirty-bitmap:b1", false, false, false, "" },
        { "qemu:allocation-depth", true, false, false, "" },
        { "", false, true, false, "" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void One_query_selects_what_qemu_nbd_selects(string query, bool set, bool depthOffered, bool expectBase, string expectBitmaps)
    {
        var selection = NbdMetaContextQuery.Select([Encoding.UTF8.GetBytes(query)], set, depthOffered, s_bitmaps);
        Assert.Equal(expectBase, selection.BaseAllocation);
        Assert.Equal(expectBitmaps, string.Join(',', s_bitmaps.Where((_, i) => selection.Bitmaps[i])));
    }

    [Theory]
    [InlineData("qemu:allocation-depth", true, true, true)]
    [InlineData("qemu:allocation-depth", true, false, false)]
    [InlineData("qemu:", false, true, true)]
    [InlineData("qemu:", true, true, false)]
    [InlineData("qemu:allocation-depth\0x", true, true, true)]
    public void Allocation_depth_is_selected_only_when_offered(string query, bool set, bool offered, bool expected) =>
        Assert.Equal(expected, NbdMetaContextQuery.Select([Encoding.UTF8.GetBytes(query)], set, offered, s_bitmaps).AllocationDepth);

    [Fact]
    public void A_list_without_queries_selects_everything_and_a_set_without_queries_nothing()
    {
        var list = NbdMetaContextQuery.Select([], set: false, allocationDepthOffered: true, s_bitmaps);
        Assert.True(list.BaseAllocation && list.AllocationDepth && list.Bitmaps.All(b => b));
        var set = NbdMetaContextQuery.Select([], set: true, allocationDepthOffered: true, s_bitmaps);
        Assert.False(set.BaseAllocation || set.AllocationDepth || set.Bitmaps.Any(b => b));
    }

    [Fact]
    public void Several_queries_add_up_and_an_over_long_query_is_skipped()
    {
        var tooLong = Encoding.UTF8.GetBytes("qemu:dirty-bitmap:b1\0" + new string('x', NbdMetaContextQuery.MaxQueryBytes));
        var selection = NbdMetaContextQuery.Select(
            [Encoding.UTF8.GetBytes("qemu:dirty-bitmap:été"), tooLong, Encoding.UTF8.GetBytes("base:allocation")], set: true, allocationDepthOffered: false, s_bitmaps);
        Assert.True(selection.BaseAllocation);
        Assert.Equal([false, false, true], selection.Bitmaps);
    }

    [Fact]
    public void Mutated_queries_select_only_exact_names_and_never_throw()
    {
        string[] seeds = ["qemu:dirty-bitmap:b1", "qemu:dirty-bitmap:été", "base:allocation", "qemu:allocation-depth", "qemu:", "base:"];
        var random = new Random(20261201);
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("DISKIMG_FUZZ_ITERATIONS"), out var n) ? n * 20 : 5000;
        for (var i = 0; i < iterations; i++)
        {
            var query = Mutate(Encoding.UTF8.GetBytes(seeds[i % seeds.Length]), random);
            var set = random.Next(2) == 0;
            var selection = NbdMetaContextQuery.Select([query], set, allocationDepthOffered: true, s_bitmaps);
            var nul = Array.IndexOf(query, (byte)0);
            var text = query.AsSpan(0, nul < 0 ? query.Length : nul).ToArray();
            for (var b = 0; b < s_bitmaps.Length; b++)
            {
                var exact = text.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes("qemu:dirty-bitmap:" + s_bitmaps[b]));
                var wildcard = !set && (text.AsSpan().SequenceEqual("qemu:"u8) || text.AsSpan().SequenceEqual("qemu:dirty-bitmap:"u8));
                Assert.True(selection.Bitmaps[b] == (exact || wildcard), $"query {Convert.ToHexString(query)} set {set}: bitmap {s_bitmaps[b]} selected {selection.Bitmaps[b]}");
            }

            var baseExpected = text.AsSpan().SequenceEqual("base:allocation"u8) || (!set && text.AsSpan().SequenceEqual("base:"u8));
            Assert.True(selection.BaseAllocation == baseExpected, $"query {Convert.ToHexString(query)} set {set}: base {selection.BaseAllocation}");
        }
    }

    private static byte[] Mutate(byte[] seed, Random random)
    {
        var bytes = new List<byte>(seed);
        var edits = random.Next(0, 4);
        for (var e = 0; e < edits; e++)
        {
            var at = random.Next(bytes.Count + 1);
            byte[] alphabet = [0, (byte)':', (byte)'b', (byte)'1', (byte)'q', 0xc3, 0xa9, 0xff, (byte)' '];
            switch (random.Next(4))
            {
                case 0 when at < bytes.Count: bytes[at] = alphabet[random.Next(alphabet.Length)]; break;
                case 1: bytes.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                case 2 when at < bytes.Count: bytes.RemoveAt(at); break;
                default: bytes.RemoveRange(at, bytes.Count - at); break;
            }
        }

        return [.. bytes];
    }
}
