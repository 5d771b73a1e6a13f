namespace DiskImage.Operations.Io;

/// <summary>One parsed qemu-io command.</summary>
public abstract record QemuIoCommand;

/// <summary><c>read [-qv] [-P pattern [-s off] [-l len]] off len</c>.</summary>
/// <param name="Offset">Guest offset of the read.</param>
/// <param name="Length">Bytes to read.</param>
/// <param name="Pattern">Byte every read byte (or the <paramref name="PatternOffset"/>/<paramref name="PatternLength"/> part) must equal.</param>
/// <param name="PatternOffset">Start of the checked part, from <paramref name="Offset"/> (<c>-s</c>).</param>
/// <param name="PatternLength">Length of the checked part (<c>-l</c>).</param>
/// <param name="Dump">Print the bytes read as a hex dump (<c>-v</c>).</param>
/// <param name="Quiet">Print nothing on success (<c>-q</c>).</param>
public sealed record QemuIoRead(long Offset, long Length, byte? Pattern, long PatternOffset, long PatternLength, bool Dump, bool Quiet) : QemuIoCommand;

/// <summary><c>write [-qzu] [-P pattern] off len</c>; <paramref name="Zero"/> writes zeroes without data, <paramref name="Unmap"/> lets them be holes.</summary>
public sealed record QemuIoWrite(long Offset, long Length, byte Pattern, bool Zero, bool Unmap, bool Quiet) : QemuIoCommand;

/// <summary><c>discard [-q] off len</c>.</summary>
public sealed record QemuIoDiscard(long Offset, long Length, bool Quiet) : QemuIoCommand;

/// <summary><c>flush</c> and <c>aio_flush</c>.</summary>
public sealed record QemuIoFlush : QemuIoCommand;

/// <summary><c>info</c>: format name, cluster size, VM state offset.</summary>
public sealed record QemuIoInfo : QemuIoCommand;

/// <summary><c>length</c>: the image's virtual size.</summary>
public sealed record QemuIoLength : QemuIoCommand;
