using System.Buffers.Binary;
using System.Text;

namespace DiskImage.Nbd.Client;

/// <summary>The handshakes of servers older than the fixed newstyle one, which have no options to negotiate.</summary>
public sealed partial class NbdClient
{
    /// <summary>
    /// The rest of an oldstyle greeting: the export's size, its flags in 32 bits (only the low 16 may be set) and 124
    /// reserved bytes. No options: no TLS, no export name, no structured replies or block status.
    /// </summary>
    private void OldstyleHandshake(string export, bool wantsTls, string? dirtyBitmap)
    {
        if (wantsTls)
        {
            throw new ImageAccessException("Server does not support STARTTLS");
        }

        if (export.Length > 0)
        {
            throw new ImageAccessException("Server does not support non-empty export names");
        }

        Span<byte> rest = stackalloc byte[8 + 4 + OldstylePadding];
        ReadField(rest[..8], "export length");
        ReadField(rest[8..12], "export flags");
        var size = BinaryPrimitives.ReadUInt64BigEndian(rest);
        var flags = BinaryPrimitives.ReadUInt32BigEndian(rest[8..]);
        if (flags > ushort.MaxValue)
        {
            // qemu's message, including the stray 'x' its format string leaves after the number.
            throw new ImageAccessException($"Unexpected export flags {flags:x}x");
        }

        ReadField(rest[12..], "reserved block");

        if (size > long.MaxValue)
        {
            throw new ImageAccessException("NBD export size is out of range");
        }

        Size = (long)size;
        Flags = (NbdTransmissionFlags)flags;
        if (dirtyBitmap is not null)
        {
            // As for a newstyle server without the context: qemu's open fails with only its errno.
            throw new InvalidOptionException("Could not open image: Invalid argument");
        }
    }

    /// <summary>
    /// The rest of a newstyle handshake whose server lacks the fixed variant: the export's name is the one option
    /// (<c>NBD_OPT_EXPORT_NAME</c>, which a server refuses by hanging up), answered by the export's size, its 16-bit
    /// flags and, unless the server offered to drop them, 124 reserved bytes. No TLS, no structured replies or block
    /// status.
    /// </summary>
    private void ExportNameHandshake(string export, bool wantsTls, bool zeroes, string? dirtyBitmap)
    {
        if (wantsTls)
        {
            throw new ImageAccessException("Server does not support STARTTLS");
        }

        SendOption(NbdOption.ExportName, Encoding.UTF8.GetBytes(export));
        Span<byte> reply = stackalloc byte[8 + 2 + OldstylePadding];
        ReadField(reply[..8], "export length");
        ReadField(reply[8..10], "export flags");
        if (zeroes)
        {
            ReadField(reply[10..], "reserved block");
        }

        var size = BinaryPrimitives.ReadUInt64BigEndian(reply);
        if (size > long.MaxValue)
        {
            throw new ImageAccessException("NBD export size is out of range");
        }

        Size = (long)size;
        Flags = (NbdTransmissionFlags)BinaryPrimitives.ReadUInt16BigEndian(reply[8..]);
        if (dirtyBitmap is not null)
        {
            // No meta contexts without options: qemu's open fails with only its errno, as for an oldstyle server.
            throw new InvalidOptionException("Could not open image: Invalid argument");
        }
    }
}
