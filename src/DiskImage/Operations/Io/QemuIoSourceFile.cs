namespace DiskImage.Operations.Io;

/// <summary><c>write -s FILE</c>: the file's first bytes (up to the request's length), repeated to fill the request.</summary>
internal static class QemuIoSourceFile
{
    /// <summary>A filler, or null after printing why the file cannot serve (as perror does, or "file is empty").</summary>
    public static Action<long, Span<byte>>? Load(string path, long count, QemuIoOutput output)
    {
        byte[] pattern;
        try
        {
            using var file = File.OpenRead(path);
            var length = (int)Math.Min(count, Math.Min(file.Length, QemuIoArguments.MaxRequestBytes));
            pattern = new byte[length];
            file.ReadExactly(pattern);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            output.Diagnostic($"{path}: {(e is FileNotFoundException or DirectoryNotFoundException ? "No such file or directory" : e is UnauthorizedAccessException ? "Permission denied" : "Input/output error")}");
            return null;
        }

        if (pattern.Length == 0)
        {
            output.Diagnostic($"{path}: file is empty");
            return null;
        }

        return (position, span) =>
        {
            for (var done = 0; done < span.Length;)
            {
                var at = (int)((position + done) % pattern.Length);
                var length = Math.Min(pattern.Length - at, span.Length - done);
                pattern.AsSpan(at, length).CopyTo(span[done..]);
                done += length;
            }
        };
    }
}
