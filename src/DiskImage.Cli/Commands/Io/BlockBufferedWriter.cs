using System.Text;

namespace DiskImage.Cli.Commands.Io;

/// <summary>
/// Standard output as C's stdio buffers it for a pipe or file: written in whole blocks, the rest when
/// flushed or at the end. A block size of 0 passes everything through at once.
/// </summary>
internal sealed class BlockBufferedWriter(TextWriter inner, int blockSize) : TextWriter
{
    /// <summary>glibc's buffer for a pipe or regular file.</summary>
    public const int BlockSize = 4096;

    private readonly StringBuilder _pending = new();

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        _pending.Append(value);
        Drain(all: blockSize == 0);
    }

    public override void Write(string? value)
    {
        _pending.Append(value);
        Drain(all: blockSize == 0);
    }

    public override void WriteLine(string? value)
    {
        _pending.Append(value).Append('\n');
        Drain(all: blockSize == 0);
    }

    public override void Flush() => Drain(all: true);

    /// <summary>Drops what is still buffered, as a crash would.</summary>
    public void Discard() => _pending.Clear();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Drain(all: true);
        }

        base.Dispose(disposing);
    }

    private void Drain(bool all)
    {
        var length = all ? _pending.Length : _pending.Length - (_pending.Length % Math.Max(blockSize, 1));
        if (length == 0)
        {
            return;
        }

        inner.Write(_pending.ToString(0, length));
        inner.Flush();
        _pending.Remove(0, length);
    }
}
