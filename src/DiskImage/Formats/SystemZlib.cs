using System.Runtime.InteropServices;

namespace DiskImage.Formats;

/// <summary>
/// Compression through the system's zlib (<c>libz.so.1</c>), the library qemu-img links: its deflate makes the same
/// bytes for the same input and parameters, where the runtime's own (zlib-ng) chooses other matches and blocks, so
/// compressed clusters and grains would differ in size and place from qemu-img's. Every method returns null where the
/// library cannot be loaded (not Linux, or no zlib installed); callers then compress with the runtime's deflate.
/// </summary>
internal static unsafe partial class SystemZlib
{
    private const string Library = "libz.so.1";
    private const int DefaultLevel = -1;
    private const int Deflated = 8;
    private const int DefaultStrategy = 0;
    private const int FlushFinish = 4;
    private const int ZOk = 0;
    private const int ZStreamEnd = 1;
    private const int ZBufError = -5;

    private static volatile bool s_unavailable = !OperatingSystem.IsLinux() || !Environment.Is64BitProcess;

    /// <summary>
    /// Raw deflate (no header) at zlib's default level with the given window and memory level, in one call as QEMU's
    /// qcow2 driver makes it: true with the length written, false when the result does not fit <paramref name="output"/>.
    /// </summary>
    public static bool? TryRawDeflate(ReadOnlySpan<byte> input, Span<byte> output, int windowBits, int memLevel, out int written)
    {
        written = 0;
        if (s_unavailable)
        {
            return null;
        }

        var stream = default(ZStream);
        int status;
        try
        {
            status = DeflateInit2(&stream, DefaultLevel, Deflated, -windowBits, memLevel, DefaultStrategy, ZlibVersion(), sizeof(ZStream));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
            return null;
        }

        if (status != ZOk)
        {
            s_unavailable = true;
            return null;
        }

        try
        {
            fixed (byte* source = input)
            fixed (byte* target = output)
            {
                stream.NextIn = source;
                stream.AvailIn = (uint)input.Length;
                stream.NextOut = target;
                stream.AvailOut = (uint)output.Length;
                status = Deflate(&stream, FlushFinish);
                if (status != ZStreamEnd)
                {
                    return status is ZOk or ZBufError ? false : throw new InvalidOperationException($"zlib deflate failed ({status})");
                }

                written = output.Length - (int)stream.AvailOut;
                return true;
            }
        }
        finally
        {
            _ = DeflateEnd(&stream);
        }
    }

    /// <summary>
    /// A zlib stream (header and checksum) at the default level, as zlib's <c>compress()</c> makes it for QEMU's VMDK
    /// grains: true with the length written, false when it does not fit <paramref name="output"/>.
    /// </summary>
    public static bool? TryCompress(ReadOnlySpan<byte> input, Span<byte> output, out int written)
    {
        written = 0;
        if (s_unavailable)
        {
            return null;
        }

        nuint length = (nuint)output.Length;
        int status;
        try
        {
            fixed (byte* source = input)
            fixed (byte* target = output)
            {
                status = Compress2(target, &length, source, (nuint)input.Length, DefaultLevel);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
            return null;
        }

        if (status == ZBufError)
        {
            return false;
        }

        if (status != ZOk)
        {
            throw new InvalidOperationException($"zlib compress failed ({status})");
        }

        written = (int)length;
        return true;
    }

    /// <summary>zlib's <c>z_stream</c> on a 64-bit Linux process (<c>uLong</c> is 64 bits there).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public uint AvailIn;
        public nuint TotalIn;
        public byte* NextOut;
        public uint AvailOut;
        public nuint TotalOut;
        public byte* Message;
        public void* State;
        public void* Alloc;
        public void* Free;
        public void* Opaque;
        public int DataType;
        public nuint Adler;
        public nuint Reserved;
    }

    [LibraryImport(Library, EntryPoint = "zlibVersion")]
    private static partial byte* ZlibVersion();

    [LibraryImport(Library, EntryPoint = "deflateInit2_")]
    private static partial int DeflateInit2(ZStream* stream, int level, int method, int windowBits, int memLevel, int strategy, byte* version, int streamSize);

    [LibraryImport(Library, EntryPoint = "deflate")]
    private static partial int Deflate(ZStream* stream, int flush);

    [LibraryImport(Library, EntryPoint = "deflateEnd")]
    private static partial int DeflateEnd(ZStream* stream);

    [LibraryImport(Library, EntryPoint = "compress2")]
    private static partial int Compress2(byte* dest, nuint* destLength, byte* source, nuint sourceLength, int level);
}
