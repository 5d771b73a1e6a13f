using System.Text;
using DiskImage.Formats.Vvfat;

namespace DiskImage.Tests.Formats.Vvfat;

/// <summary>
/// vvfat's directory entries for host names, checked as properties over random names: every 8.3 name of a directory is
/// unique and made only of characters FAT allows, the long-name entries spell the host name back with the 8.3 entry's
/// checksum, and the <c>fat:</c> name's options are read wherever they stand.
/// </summary>
public class VvfatNamesTests
{
    private const string Alphabet = "abcXYZ019 .~_-+=;[]$%'@(){}^#&!`\u00e9\u00c4\u0131\u017f\u4e2d";

    [Fact]
    public void Random_names_get_unique_valid_short_names_and_long_names_that_spell_them()
    {
        var random = new Random(7);
        for (var round = 0; round < 50; round++)
        {
            var directory = new List<byte[]>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            while (names.Count < 40)
            {
                var length = random.Next(1, 30);
                var name = new StringBuilder();
                for (var i = 0; i < length; i++)
                {
                    name.Append(Alphabet[random.Next(Alphabet.Length)]);
                }

                names.Add(name.ToString());
            }

            var shortNames = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                var before = directory.Count;
                var index = VvfatNames.Append(directory, 0, name);
                Assert.NotNull(index);
                var entry = directory[index.Value];
                var shortName = Encoding.Latin1.GetString(entry, 0, 11);
                Assert.True(shortNames.Add(shortName), $"8.3 name {shortName} repeated");
                Assert.All(shortName, c => Assert.True(c is >= 'A' and <= 'Z' or >= '0' and <= '9' or ' ' || "$%'-_@~`!(){}^#&".Contains(c, StringComparison.Ordinal), $"'{c}' in {shortName}"));
                Assert.Equal(name, LongName(directory, before, index.Value, entry));
            }
        }
    }

    [Theory]
    [InlineData("fat:dir", "dir", 0, false, false)]
    [InlineData("fat:floppy:12:rw:/tmp/d", "/tmp/d", 12, true, true)]
    [InlineData("fat:32:floppy:x", "x", 32, true, false)]
    [InlineData("fat:16:c:\\dos", "c:\\dos", 16, false, false)]
    public void Fat_names_are_read_as_qemu_reads_them(string name, string directory, int fatType, bool floppy, bool readWrite) =>
        Assert.Equal(new VvfatName(directory, fatType, floppy, readWrite), VvfatName.Parse(name));

    /// <summary>The name the long-name entries before the 8.3 entry spell, each checked against the 8.3 entry's checksum.</summary>
    private static string LongName(List<byte[]> directory, int first, int shortIndex, byte[] shortEntry)
    {
        byte sum = 0;
        for (var i = 0; i < 11; i++)
        {
            sum = (byte)((((sum & 1) << 7) | (sum >> 1)) + shortEntry[i]);
        }

        int[] offsets = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
        var text = new StringBuilder();
        for (var e = shortIndex - 1; e >= first; e--)
        {
            var entry = directory[e];
            Assert.Equal(0x0f, entry[11]);
            Assert.Equal(sum, entry[13]);
            foreach (var offset in offsets)
            {
                var unit = (char)(entry[offset] | (entry[offset + 1] << 8));
                if (unit is '\0' or '\uffff')
                {
                    return text.ToString();
                }

                text.Append(unit);
            }
        }

        return text.ToString();
    }
}
