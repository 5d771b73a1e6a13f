using CsCheck;
using DiskImage.Formats.Foreign;

namespace DiskImage.Tests.Formats.Foreign;

/// <summary>
/// gluster names split as qemu-img 7.2 splits them (the volumes, paths, hosts and ports below are those its
/// connection failures name for the same names), and hostile names never make the reader throw.
/// </summary>
public class GlusterLocationTests
{
    [Theory]
    [InlineData("/dev/null", "dev", "null", "localhost", "24007")]
    [InlineData("gluster://h//vol//p/q", "vol", "p/q", "h", "24007")]
    [InlineData("gluster:///vol/p", "vol", "p", "localhost", "24007")]
    [InlineData("gluster://localhost:0/vol/p", "vol", "p", "localhost", "24007")]
    [InlineData("gluster+tcp://127.0.0.1:1/vol/p", "vol", "p", "127.0.0.1", "1")]
    [InlineData("gluster://[::1]/vol/p", "vol", "p", "[::1]", "24007")]
    [InlineData("gluster://u@h%41/v%2Fx/p%2Fq", "v", "x/p/q", "hA", "24007")]
    public void A_name_is_a_volume_and_path_on_a_server(string name, string volume, string path, string host, string port)
    {
        var location = GlusterLocation.Parse(name);
        Assert.NotNull(location);
        Assert.Equal((volume, path, host, port), (location.Volume, location.Path, location.Host, location.Port));
    }

    [Theory]
    [InlineData("src.raw")]
    [InlineData("gluster://h/vol")]
    [InlineData("gluster://localhost:99999/vol/p")]
    [InlineData("gluster://h:abc/vol/p")]
    [InlineData("gluster+foo://h/vol/p")]
    [InlineData("gluster+unix://h/vol/p?socket=/x")]
    [InlineData("gluster://h/vol/p?socket=/x")]
    [InlineData("gluster+unix:///v/p?socket=a&b=c")]
    [InlineData("/a b/c")]
    [InlineData("a:b/c")]
    public void A_name_qemu_calls_an_invalid_uri_is_refused(string name) => Assert.Null(GlusterLocation.Parse(name));

    [Theory]
    [InlineData("gluster://h/v-x_y/p", true)]
    [InlineData("gluster://h/v.x/p", false)]
    [InlineData("gluster://h/v%20x/p", false)]
    [InlineData("gluster://h/v~/p", false)]
    public void Gluster_takes_volume_names_of_letters_digits_underscores_and_dashes(string name, bool valid) =>
        Assert.Equal(valid, GlusterLocation.Parse(name)!.HasValidVolume);

    [Fact]
    public void A_unix_socket_is_taken_from_the_query()
    {
        var location = GlusterLocation.Parse("gluster+unix:///vol/p?=x&socket=/run/g.sock");
        Assert.NotNull(location);
        Assert.Equal((true, "/run/g.sock"), (location.IsUnix, location.Socket));
        Assert.Contains("hint: failed on socket /run/g.sock Please refer to gluster logs for more info", location.ConnectionFailure(), StringComparison.Ordinal);
    }

    [Fact]
    public void Any_name_is_read_without_throwing_and_a_location_read_is_whole()
    {
        var characters = Gen.Char["/:?&;=%@[]+.#aglu0123456789 ster"];
        var names = Gen.OneOf(characters.Array[0, 40].Select(c => new string(c)), characters.Array[0, 30].Select(c => "gluster://" + new string(c)));
        names.Sample(name =>
        {
            if (GlusterLocation.Parse(name) is { } location)
            {
                Assert.NotEmpty(location.Volume);
                Assert.NotEmpty(location.Path);
                Assert.True(location.IsUnix || int.Parse(location.Port!, System.Globalization.CultureInfo.InvariantCulture) is > 0 and <= 65535);
            }

            QemuUriReference.Decode(name);
        });
    }
}
