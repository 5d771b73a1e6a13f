using DiskImage.Operations.Dd;

namespace DiskImage.Tests.Operations;

public class DdOperandsTests
{
    [Fact]
    public void Operands_take_size_suffixes_and_later_ones_win()
    {
        var options = DdOperands.Parse(["bs=512", "bs=4k", "count=1k", "skip=2", "if=a", "of=b", "if=c"], "qcow2", null);
        Assert.Equal(new DdOptions { InputPath = "c", OutputPath = "b", InputFormat = "qcow2", OutputFormat = "raw", BlockSize = 4096, Count = 1024, Skip = 2 }, options);
    }

    [Fact]
    public void Defaults_are_512_byte_blocks_to_raw()
    {
        var options = DdOperands.Parse(["if=a", "of=b"], null, null);
        Assert.Equal(512, options.BlockSize);
        Assert.Null(options.Count);
        Assert.Null(options.Skip);
        Assert.Equal("raw", options.OutputFormat);
    }

    [Theory]
    [InlineData("bs=0", "Invalid bs specified. Must be between 1 and 2147483647.")]
    [InlineData("bs=2G", "Invalid bs specified. Must be between 1 and 2147483647.")]
    [InlineData("count=-1", "Invalid count specified. You may use k, M, G, T, P or E suffixes for\nkilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.")]
    [InlineData("foo=1", "unrecognized operand foo")]
    [InlineData("if", "unrecognized operand if")]
    public void Bad_operands_are_refused(string operand, string message)
    {
        var e = Assert.Throws<InvalidOptionException>(() => DdOperands.Parse([operand, "if=a", "of=b"], null, null));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Both_files_are_required() =>
        Assert.Equal("Must specify both input and output files", Assert.Throws<InvalidOptionException>(() => DdOperands.Parse(["if=a"], null, null)).Message);
}
