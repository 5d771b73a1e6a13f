namespace DiskImage.Cli.Commands.Io;

/// <summary>
/// qemu-io reads an <c>--image-opts</c> list with no implied key: an element without <c>=</c> is a flag, <c>name</c>
/// meaning <c>name=on</c> and <c>noname</c> meaning <c>name=off</c>, each warned about as QEMU's option parser warns
/// (the short form is deprecated). qemu-img's lists differ: their first bare element is the file name.
/// </summary>
internal static class ShortFormBooleans
{
    /// <summary>The list with every flag written out, after the warnings for them went to <paramref name="stderr"/>.</summary>
    public static string Expand(string list, TextWriter stderr)
    {
        var elements = new List<string>();
        var position = 0;
        while (position < list.Length)
        {
            var end = ElementEnd(list, position);
            var element = list[position..end];
            var equals = element.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0 && element is not ("help" or "?"))
            {
                var off = element.StartsWith("no", StringComparison.Ordinal);
                var name = off ? element[2..] : element;
                var value = off ? "off" : "on";
                stderr.WriteLine($"{ProgramName.Value}: warning: short-form boolean option '{element}' deprecated");
                stderr.WriteLine(name == "delay" ? $"Please use nodelay={(off ? "on" : "off")} instead" : $"Please use {name}={value} instead");
                element = $"{name}={value}";
            }

            elements.Add(element);
            position = end + 1;
        }

        return string.Join(',', elements);
    }

    /// <summary>Where the element starting at <paramref name="start"/> ends: the next comma that is not doubled (a doubled one is part of a value).</summary>
    private static int ElementEnd(string list, int start)
    {
        var i = start;
        var inValue = false;
        while (i < list.Length)
        {
            if (list[i] == '=' && !inValue)
            {
                inValue = true;
            }
            else if (list[i] == ',')
            {
                if (inValue && i + 1 < list.Length && list[i + 1] == ',')
                {
                    i += 2;
                    continue;
                }

                return i;
            }

            i++;
        }

        return list.Length;
    }
}
