using DiskImage.Options;

namespace DiskImage.Tests.Options;

public class JsonFilenameTests
{
    [Fact]
    public void Nested_objects_flatten_to_dotted_keys_with_their_kinds()
    {
        var flat = JsonFilename.Parse("""json:{"driver":"raw","offset":512,"file":{"driver":"file","filename":"a b"},"force-share":true,"backing":null}""");
        Assert.Equal(
            ["driver=raw", "offset=512", "file.driver=file", "file.filename=a b", "force-share=on", "backing="],
            flat.Select(p => $"{p.Key}={p.Value.Text}"));
        Assert.Equal(JsonScalarKind.Integer, flat[1].Value.Kind);
        Assert.Equal(JsonScalarKind.Null, flat[5].Value.Kind);
    }

    [Fact]
    public void Single_quoted_strings_and_escapes_are_read_as_qemu_reads_them()
    {
        var flat = JsonFilename.Parse("""json:{'file':{'filename':'x\'y\u0041\n'}}""");
        Assert.Equal("x'yA\n", Assert.Single(flat).Value.Text);
    }

    [Theory]
    [InlineData("json:", "Could not parse the JSON options: Expecting a JSON value")]
    [InlineData("json:   ", "Could not parse the JSON options: Expecting a JSON value")]
    [InlineData("json:{\"driver\":\"raw\"", "Could not parse the JSON options: JSON parse error, premature EOI")]
    [InlineData("""json:{"a":x}""", "Could not parse the JSON options: JSON parse error, invalid keyword 'x'")]
    [InlineData("""json:{"a":1,}""", "Could not parse the JSON options: JSON parse error, expecting value")]
    [InlineData("""json:{"a" 1}""", "Could not parse the JSON options: JSON parse error, missing : in object pair")]
    [InlineData("""json:{"a":1} 2""", "Could not parse the JSON options: Expecting at most one JSON value")]
    [InlineData("""json:{"a":1,"a":2}""", "Could not parse the JSON options: JSON parse error, duplicate key")]
    [InlineData("json:[1]", "Invalid JSON object given")]
    [InlineData("json:\"x\"", "Invalid JSON object given")]
    public void Malformed_json_is_refused_in_qemu_s_words(string name, string message)
    {
        var error = Assert.Throws<InvalidOptionException>(() => JsonFilename.Parse(name));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Deep_nesting_is_refused_without_exhausting_the_stack()
    {
        var name = "json:" + new string('[', 100_000) + new string(']', 100_000);
        Assert.Throws<InvalidOptionException>(() => JsonFilename.Parse(name));
        var objects = "json:" + string.Concat(Enumerable.Repeat("{\"a\":", 100_000)) + "1" + new string('}', 100_000);
        Assert.Throws<InvalidOptionException>(() => JsonFilename.Parse(objects));
    }

    [Fact]
    public void Oversized_names_are_refused_before_parsing()
    {
        var name = "json:{\"a\":\"" + new string('x', JsonFilename.MaxLength) + "\"}";
        Assert.Throws<InvalidOptionException>(() => JsonFilename.Parse(name));
    }

    /// <summary>qemu-img 7.2 prints <c>{"offset": .., "driver": .., "size": .., "file": ..}</c>: the order of its option dictionary's buckets.</summary>
    [Fact]
    public void Generated_names_list_members_in_qemu_s_dictionary_order()
    {
        var json = QemuJson.Object([
            new("size", "1"),
            new("driver", "\"raw\""),
            new("file", "{}"),
            new("offset", "2"),
        ]);
        Assert.Equal("""{"offset": 2, "driver": "raw", "size": 1, "file": {}}""", json);
        Assert.Equal("""{"driver": "file", "filename": "r"}""", QemuJson.Object([new("filename", "\"r\""), new("driver", "\"file\"")]));
    }

    [Fact]
    public void Generated_strings_escape_as_qemu_does()
    {
        Assert.Equal("\"a\\\"b\\\\c\\n\\u007F\\u00E9/\"", QemuJson.String("a\"b\\c\n\u007fé/"));
    }
}
