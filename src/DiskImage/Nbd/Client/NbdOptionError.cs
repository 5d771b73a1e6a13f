using System.Text;

namespace DiskImage.Nbd.Client;

/// <summary>
/// A server's error reply to a handshake option, in the words qemu's NBD client prints: one line naming the
/// error and the option, a hint for a missing TLS setup, and the server's own message when it sent one.
/// </summary>
internal static class NbdOptionError
{
    /// <summary>Whether <paramref name="type"/> is an error reply (top bit set).</summary>
    public static bool IsError(NbdOptionReply type) => ((uint)type & 0x80000000u) != 0;

    /// <summary>The message for error reply <paramref name="type"/> to <paramref name="option"/>, carrying <paramref name="message"/>.</summary>
    public static string Describe(NbdOption option, NbdOptionReply type, byte[] message)
    {
        var named = $"{(uint)option} ({Name(option)})";
        var text = type switch
        {
            NbdOptionReply.ErrorPolicy => $"Denied by server for option {named}",
            NbdOptionReply.ErrorInvalid => $"Invalid parameters for option {named}",
            NbdOptionReply.ErrorPlatform => $"Server lacks support for option {named}",
            NbdOptionReply.ErrorTlsRequired => $"TLS negotiation required before option {named}\nDid you forget a valid tls-creds?",
            NbdOptionReply.ErrorUnknown => "Requested export not available",
            NbdOptionReply.ErrorShutdown => $"Server shutting down before option {named}",
            NbdOptionReply.ErrorBlockSizeRequired => $"Server requires INFO_BLOCK_SIZE for option {named}",
            _ => $"Unknown error code when asking for option {named}",
        };
        return message.Length > 0 ? $"{text}\nserver reported: {Encoding.UTF8.GetString(message)}" : text;
    }

    /// <summary>The option's name as qemu spells it in messages.</summary>
    public static string Name(NbdOption option) => option switch
    {
        NbdOption.ExportName => "export name",
        NbdOption.Abort => "abort",
        NbdOption.List => "list",
        NbdOption.StartTls => "starttls",
        NbdOption.Info => "info",
        NbdOption.Go => "go",
        NbdOption.StructuredReply => "structured reply",
        NbdOption.ListMetaContext => "list meta context",
        NbdOption.SetMetaContext => "set meta context",
        _ => "<unknown>",
    };
}
