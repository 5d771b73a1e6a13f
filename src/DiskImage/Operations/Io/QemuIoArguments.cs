namespace DiskImage.Operations.Io;

/// <summary>Argument helpers every transfer command shares: numbers, patterns, lengths, ranges.</summary>
internal static class QemuIoArguments
{
    /// <summary>BDRV_REQUEST_MAX_BYTES: the largest single request (INT_MAX rounded down to a sector).</summary>
    public const long MaxRequestBytes = int.MaxValue & ~511L;

    /// <summary>
    /// The OFFSET and LENGTH operands of read and discard, or null after printing qemu-io's complaint (a bad number,
    /// or a length over one request).
    /// </summary>
    public static (long Offset, long Count)? OffsetAndCount(IReadOnlyList<string> operands, QemuIoOutput output)
    {
        if (Number(operands[0], output) is not { } offset || Number(operands[1], output) is not { } count)
        {
            return null;
        }

        if (count > MaxRequestBytes)
        {
            output.Out($"length cannot exceed {MaxRequestBytes}, given {operands[1]}");
            return null;
        }

        return (offset, count);
    }

    /// <summary>The <c>-o</c> list of open and reopen: key/value pairs, a bare key meaning "on".</summary>
    public static IEnumerable<(string Key, string Value)> OptionPairs(string list)
    {
        foreach (var pair in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            yield return equals < 0 ? (pair, "on") : (pair[..equals], pair[(equals + 1)..]);
        }
    }

    /// <summary>cvtnum: a number, or null after printing qemu-io's parsing error.</summary>
    public static long? Number(string text, QemuIoOutput output)
    {
        var status = QemuIoNumber.Read(text, out var value, out var hexWithSuffix);
        if (hexWithSuffix)
        {
            output.Error(QemuIoNumber.HexSuffixWarning(text));
        }

        if (status == QemuIoNumberStatus.Valid)
        {
            return value;
        }

        output.Out(QemuIoNumber.ErrorFor(status, text));
        return null;
    }

    /// <summary>parse_pattern: a byte, or null after printing "is not a valid pattern byte".</summary>
    public static byte? Pattern(string text, QemuIoOutput output)
    {
        if (QemuIoPattern.TryParse(text, out var value))
        {
            return value;
        }

        output.Out($"{text} is not a valid pattern byte");
        return null;
    }

    /// <summary>The lengths of a vectored request, summed, or null after qemu-io's complaint.</summary>
    public static long? VectorLength(IEnumerable<string> lengths, QemuIoOutput output)
    {
        long total = 0;
        foreach (var text in lengths)
        {
            if (Number(text, output) is not { } length)
            {
                return null;
            }

            if (length > MaxRequestBytes)
            {
                output.Out($"Argument '{text}' exceeds maximum size {MaxRequestBytes}");
                return null;
            }

            if (total > MaxRequestBytes - length)
            {
                output.Out($"The total number of bytes exceed the maximum size {MaxRequestBytes}");
                return null;
            }

            total += length;
        }

        return total;
    }

    /// <summary>Both must be multiples of 512 (vmstate and compressed requests).</summary>
    public static bool SectorAligned(long offset, long count, QemuIoOutput output)
    {
        if (offset % 512 != 0)
        {
            output.Out($"{offset} is not a sector-aligned value for 'offset'");
            return false;
        }

        if (count % 512 != 0)
        {
            output.Out($"{count} is not a sector-aligned value for 'count'");
            return false;
        }

        return true;
    }

    /// <summary>The block layer's range check: a request must end within the image.</summary>
    public static bool InRange(long imageLength, long offset, long count) => offset <= imageLength && imageLength - offset >= count;
}
