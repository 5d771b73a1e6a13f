using System.Runtime.InteropServices;

namespace DiskImage.Formats.Qcow2;

/// <summary>
/// Raw-deflate decompression of whole clusters through the zlib entry points that the .NET runtime ships (the library
/// behind <see cref="System.IO.Compression.DeflateStream"/>; linked into the native executable, loaded from the shared
/// framework otherwise). One stream per thread, reset between clusters: a <c>DeflateStream</c> per cluster set up and
/// freed zlib's state and window every time and copied all the input once more through a buffer of its own.
/// </summary>
/// <remarks>
/// Where the library or its entry points are missing, <see cref="ForThisThread"/> returns null and callers use
/// <c>DeflateStream</c>. The native state is freed by the finalizer once the thread that owned it is gone.
/// </remarks>
internal sealed unsafe partial class NativeInflater
{
    private const string Library = "libSystem.IO.Compression.Native";

    /// <summary>Negative window bits: raw deflate (no zlib header), the largest window.</summary>
    private const int RawDeflateWindowBits = -15;

    private const int FlushFinish = 4;
    private const int ZOk = 0;
    private const int ZStreamEnd = 1;
    private const int ZBufError = -5;

    [ThreadStatic]
    private static NativeInflater? t_inflater;

    /// <summary>
    /// The stream layout below is the runtime's own, not a published contract: it is trusted only on the runtime it was
    /// checked against, and any other runtime takes the <c>DeflateStream</c> path.
    /// </summary>
    private static volatile bool s_unavailable = Environment.Version.Major != 10;

    private readonly ZStream* _stream;

    private NativeInflater(ZStream* stream) => _stream = stream;

    ~NativeInflater()
    {
        InflateEnd(_stream);
        NativeMemory.Free(_stream);
    }

    /// <summary>This thread's inflater, or null when the runtime's zlib cannot be reached.</summary>
    public static NativeInflater? ForThisThread()
    {
        if (t_inflater is { } inflater)
        {
            return inflater;
        }

        if (s_unavailable)
        {
            return null;
        }

        var stream = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
        int status;
        try
        {
            status = InflateInit2(stream, RawDeflateWindowBits);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            NativeMemory.Free(stream);
            s_unavailable = true;
            return null;
        }

        if (status != ZOk)
        {
            NativeMemory.Free(stream);
            throw new OutOfMemoryException("zlib could not set up a decompression stream");
        }

        return t_inflater = new NativeInflater(stream);
    }

    /// <summary>
    /// Inflates <paramref name="input"/> into all of <paramref name="output"/>. True when the output is full and the
    /// stream ended or could go no further for want of room (QEMU's rule: bytes after the cluster's data are ignored);
    /// false when the data ends early; throws <see cref="InvalidDataException"/> for data that is not deflate.
    /// </summary>
    public bool InflateWhole(ReadOnlySpan<byte> input, Span<byte> output)
    {
        fixed (byte* source = input)
        fixed (byte* target = output)
        {
            var status = InflateReset2(_stream, RawDeflateWindowBits);
            if (status != ZOk)
            {
                throw new InvalidDataException($"zlib could not reset its stream ({status})");
            }

            _stream->NextIn = source;
            _stream->AvailIn = (uint)input.Length;
            _stream->NextOut = target;
            _stream->AvailOut = (uint)output.Length;
            status = Inflate(_stream, FlushFinish);
            var full = _stream->AvailOut == 0;
            var message = _stream->Msg;

            // No pointer into the caller's memory outlives the call.
            _stream->NextIn = null;
            _stream->NextOut = null;
            _stream->AvailIn = 0;
            _stream->AvailOut = 0;
            if (full && status is ZStreamEnd or ZBufError)
            {
                return true;
            }

            if (status is ZOk or ZStreamEnd or ZBufError)
            {
                return false;
            }

            throw new InvalidDataException(message is null ? $"invalid deflate data ({status})" : Marshal.PtrToStringUTF8((nint)message));
        }
    }

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateInit2_")]
    private static partial int InflateInit2(ZStream* stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateReset2_")]
    private static partial int InflateReset2(ZStream* stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Inflate")]
    private static partial int Inflate(ZStream* stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateEnd")]
    private static partial int InflateEnd(ZStream* stream);

    /// <summary>The runtime's PAL_ZStream: zlib's own stream lives behind <see cref="InternalState"/>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ZStream
    {
        public byte* NextIn;
        public byte* NextOut;
        public byte* Msg;
        public nint InternalState;
        public uint AvailIn;
        public uint AvailOut;
    }
}
