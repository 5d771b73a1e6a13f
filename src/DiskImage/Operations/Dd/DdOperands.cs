namespace DiskImage.Operations.Dd;

/// <summary>Parses dd-style operands (<c>bs=4k count=10 skip=1 if=in of=out</c>); a later operand overrides an earlier one.</summary>
public static class DdOperands
{
    /// <summary>Builds options from operands; throws <see cref="InvalidOptionException"/> with qemu-img's words.</summary>
    public static DdOptions Parse(IEnumerable<string> operands, string? inputFormat, string? outputFormat)
    {
        ArgumentNullException.ThrowIfNull(operands);
        string? input = null;
        string? output = null;
        long blockSize = 512;
        long? count = null;
        long? skip = null;
        foreach (var operand in operands)
        {
            var eq = operand.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? operand : operand[..eq];
            var value = eq < 0 ? "" : operand[(eq + 1)..];
            switch (key)
            {
                case "if" when eq >= 0:
                    input = value;
                    break;
                case "of" when eq >= 0:
                    output = value;
                    break;
                case "bs" when eq >= 0:
                    blockSize = Options.SizeText.ParseInRange(value, "bs", 1, DdOptions.MaxBlockSize);
                    break;
                case "count" when eq >= 0:
                    count = Options.SizeText.Parse(value, "count");
                    break;
                case "skip" when eq >= 0:
                    skip = Options.SizeText.Parse(value, "skip");
                    break;
                default:
                    throw new InvalidOptionException($"unrecognized operand {key}");
            }
        }

        // An operand given empty counts as given (qemu-img then fails to open or create the empty name).
        if (input is null || output is null)
        {
            throw new InvalidOptionException("Must specify both input and output files");
        }

        return new DdOptions
        {
            InputPath = input,
            OutputPath = output,
            InputFormat = inputFormat,
            OutputFormat = outputFormat ?? "raw",
            BlockSize = blockSize,
            Count = count,
            Skip = skip,
        };
    }
}
