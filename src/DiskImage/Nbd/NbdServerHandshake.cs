using System.Buffers.Binary;
using System.Net.Security;
using System.Text;

namespace DiskImage.Nbd;

/// <summary>
/// The server side of the fixed newstyle handshake: options until <c>NBD_OPT_GO</c> or
/// <c>NBD_OPT_EXPORT_NAME</c> selects the export. Every length from the client is bounded before use.
/// </summary>
internal sealed class NbdServerHandshake(NbdExport export, NbdServerOptions options, IReadOnlyList<NbdExportBitmap> bitmaps, byte[]? pskDhParameters)
{
    private const uint BaseAllocationId = 0;
    private const uint AllocationDepthId = 1;

    /// <summary>The negotiated session, or null when the client left, aborted or broke the protocol.</summary>
    public NbdSession? Run(Stream stream)
    {
        var session = new NbdSession(stream);
        var greeting = new byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, NbdConstants.NbdMagic);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), NbdConstants.OptionMagic);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), NbdConstants.FlagFixedNewstyle | NbdConstants.FlagNoZeroes);
        stream.Write(greeting);

        var word = new byte[4];
        stream.ReadExactly(word);
        var clientFlags = BinaryPrimitives.ReadUInt32BigEndian(word);
        if ((clientFlags & ~3u) != 0 || (clientFlags & NbdConstants.FlagFixedNewstyle) == 0)
        {
            return null;
        }

        var noZeroes = (clientFlags & NbdConstants.FlagNoZeroes) != 0;
        var tlsConfigured = options.Tls is not null || options.TlsPsk is not null;
        var tlsDone = !tlsConfigured;
        var header = new byte[16];
        while (true)
        {
            session.Stream.ReadExactly(header);
            if (BinaryPrimitives.ReadUInt64BigEndian(header) != NbdConstants.OptionMagic)
            {
                return null;
            }

            var option = (NbdOption)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
            var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            if (length > NbdConstants.MaxOptionLength)
            {
                // Reading it to stay in step would let a client make us swallow gigabytes; say so and hang up.
                Reply(session, option, NbdOptionReply.ErrorTooBig, "option too long");
                return null;
            }

            var data = new byte[length];
            session.Stream.ReadExactly(data);
            if (!tlsDone && option is not (NbdOption.StartTls or NbdOption.Abort))
            {
                if (option == NbdOption.ExportName)
                {
                    return null;
                }

                Reply(session, option, NbdOptionReply.ErrorTlsRequired, $"Option 0x{(uint)option:x} not permitted before TLS");
                continue;
            }

            switch (option)
            {
                case NbdOption.ExportName:
                    if (Encoding.UTF8.GetString(data) != export.Name)
                    {
                        return null;
                    }

                    var reply = new byte[noZeroes ? 10 : 134];
                    BinaryPrimitives.WriteUInt64BigEndian(reply, (ulong)export.Image.Length);
                    BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), (ushort)export.FlagsFor(session.Structured));
                    session.Stream.Write(reply);
                    return session;

                case NbdOption.Abort:
                    TryAck(session, option);
                    return null;

                case NbdOption.List:
                    if (length != 0)
                    {
                        Reply(session, option, NbdOptionReply.ErrorInvalid, "no payload expected");
                        break;
                    }

                    Send(session, NbdWire.OptionReply(option, NbdOptionReply.Server, ServerEntry()));
                    Reply(session, option, NbdOptionReply.Ack, null);
                    break;

                case NbdOption.StartTls:
                    // qemu-nbd's replies, which qemu's client prints as "server reported: ...".
                    if (length != 0)
                    {
                        Reply(session, option, NbdOptionReply.ErrorInvalid, $"option '{Client.NbdOptionError.Name(option)}' has unexpected length");
                        break;
                    }

                    if (tlsDone)
                    {
                        Reply(session, option, !tlsConfigured ? NbdOptionReply.ErrorPolicy : NbdOptionReply.ErrorInvalid,
                            !tlsConfigured ? "TLS not configured" : "TLS already enabled");
                        break;
                    }

                    Reply(session, option, NbdOptionReply.Ack, null);
                    if (options.TlsPsk is { } psk)
                    {
                        // GnuTLS runs PSK on the socket itself; the plain stream stays underneath and owns it.
                        var socket = ((System.Net.Sockets.NetworkStream)session.Stream).Socket;
                        session.Stream = Client.GnuTlsPskStream.Accept(socket, psk.KeyFilePath, pskDhParameters);
                    }
                    else
                    {
                        var ssl = new SslStream(session.Stream, leaveInnerStreamOpen: false);
                        ssl.AuthenticateAsServer(options.Tls!);
                        session.Stream = ssl;
                    }

                    tlsDone = true;
                    break;

                case NbdOption.Info:
                case NbdOption.Go:
                    if (Info(session, option, data) && option == NbdOption.Go)
                    {
                        return session;
                    }

                    break;

                case NbdOption.StructuredReply:
                    if (length != 0 || session.Structured)
                    {
                        Reply(session, option, NbdOptionReply.ErrorInvalid, "structured reply already negotiated or payload given");
                        break;
                    }

                    session.Structured = true;
                    Reply(session, option, NbdOptionReply.Ack, null);
                    break;

                case NbdOption.ListMetaContext:
                case NbdOption.SetMetaContext:
                    MetaContext(session, option, data);
                    break;

                default:
                    Reply(session, option, NbdOptionReply.ErrorUnsupported, "option not supported");
                    break;
            }
        }
    }

    private byte[] ServerEntry()
    {
        var name = Encoding.UTF8.GetBytes(export.Name);
        var description = Encoding.UTF8.GetBytes(export.Description ?? "");
        var entry = new byte[4 + name.Length + description.Length];
        BinaryPrimitives.WriteUInt32BigEndian(entry, (uint)name.Length);
        name.CopyTo(entry, 4);
        description.CopyTo(entry, 4 + name.Length);
        return entry;
    }

    /// <summary>Answers INFO/GO; true when the export was described and acknowledged.</summary>
    private bool Info(NbdSession session, NbdOption option, byte[] data)
    {
        var position = 0;
        if (!NbdWire.TryReadString32(data, ref position, out var name) || data.Length - position < 2)
        {
            Reply(session, option, NbdOptionReply.ErrorInvalid, "malformed request");
            return false;
        }

        int count = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(position));
        position += 2;
        if (data.Length - position != count * 2)
        {
            Reply(session, option, NbdOptionReply.ErrorInvalid, "malformed request");
            return false;
        }

        if (name != export.Name)
        {
            Reply(session, option, NbdOptionReply.ErrorUnknown, $"export '{name}' not present");
            return false;
        }

        var wantName = false;
        var wantDescription = false;
        for (var i = 0; i < count; i++)
        {
            var item = (NbdInfo)BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(position + (2 * i)));
            wantName |= item == NbdInfo.Name;
            wantDescription |= item == NbdInfo.Description;
        }

        if (wantName)
        {
            SendInfo(session, option, NbdInfo.Name, Encoding.UTF8.GetBytes(export.Name));
        }

        if (wantDescription && export.Description is not null)
        {
            SendInfo(session, option, NbdInfo.Description, Encoding.UTF8.GetBytes(export.Description));
        }

        var sizes = new byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(sizes, 1);
        BinaryPrimitives.WriteUInt32BigEndian(sizes.AsSpan(4), 4096);
        BinaryPrimitives.WriteUInt32BigEndian(sizes.AsSpan(8), NbdConstants.MaxPayload);
        SendInfo(session, option, NbdInfo.BlockSize, sizes);

        var exportInfo = new byte[10];
        BinaryPrimitives.WriteUInt64BigEndian(exportInfo, (ulong)export.Image.Length);
        BinaryPrimitives.WriteUInt16BigEndian(exportInfo.AsSpan(8), (ushort)export.FlagsFor(session.Structured));
        SendInfo(session, option, NbdInfo.Export, exportInfo);
        Reply(session, option, NbdOptionReply.Ack, null);
        return true;
    }

    private static void SendInfo(NbdSession session, NbdOption option, NbdInfo item, byte[] payload)
    {
        var data = new byte[2 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)item);
        payload.CopyTo(data, 2);
        Send(session, NbdWire.OptionReply(option, NbdOptionReply.Info, data));
    }

    private void MetaContext(NbdSession session, NbdOption option, byte[] data)
    {
        var set = option == NbdOption.SetMetaContext;
        if (set && !session.Structured)
        {
            Reply(session, option, NbdOptionReply.ErrorInvalid, "structured replies not negotiated");
            return;
        }

        var position = 0;
        if (!NbdWire.TryReadString32(data, ref position, out var name) || data.Length - position < 4)
        {
            Reply(session, option, NbdOptionReply.ErrorInvalid, "malformed request");
            return;
        }

        var count = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(position));
        position += 4;
        var queries = new List<byte[]>();
        for (var i = 0u; i < count; i++)
        {
            if (!NbdWire.TryReadBytes32(data, ref position, out var query))
            {
                Reply(session, option, NbdOptionReply.ErrorInvalid, "malformed request");
                return;
            }

            queries.Add(query);
        }

        if (position != data.Length)
        {
            Reply(session, option, NbdOptionReply.ErrorInvalid, "malformed request");
            return;
        }

        if (name != export.Name)
        {
            Reply(session, option, NbdOptionReply.ErrorUnknown, $"export '{name}' not present");
            return;
        }

        var selection = NbdMetaContextQuery.Select(queries, set, export.AllocationDepth, [.. bitmaps.Select(b => b.Name)]);
        var wantBase = selection.BaseAllocation;
        var wantDepth = selection.AllocationDepth;
        var wantBitmap = selection.Bitmaps;
        var selected = bitmaps.Where((_, i) => wantBitmap[i]).ToList();
        if (set)
        {
            session.BaseAllocationId = wantBase ? BaseAllocationId : null;
            session.AllocationDepthId = wantDepth ? AllocationDepthId : null;
            session.Bitmaps = selected;
        }

        if (wantBase)
        {
            SendContext(session, option, BaseAllocationId, NbdConstants.BaseAllocation);
        }

        if (wantDepth)
        {
            SendContext(session, option, AllocationDepthId, NbdConstants.AllocationDepth);
        }

        foreach (var bitmap in selected)
        {
            SendContext(session, option, bitmap.ContextId, bitmap.ContextName);
        }

        Reply(session, option, NbdOptionReply.Ack, null);
    }

    private static void SendContext(NbdSession session, NbdOption option, uint id, string name)
    {
        var text = Encoding.UTF8.GetBytes(name);
        var data = new byte[4 + text.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, id);
        text.CopyTo(data, 4);
        Send(session, NbdWire.OptionReply(option, NbdOptionReply.MetaContext, data));
    }

    private static void Reply(NbdSession session, NbdOption option, NbdOptionReply type, string? message) =>
        Send(session, NbdWire.OptionReply(option, type, message is null ? [] : Encoding.UTF8.GetBytes(message)));

    private static void TryAck(NbdSession session, NbdOption option)
    {
        try
        {
            Reply(session, option, NbdOptionReply.Ack, null);
        }
        catch (IOException)
        {
            // The client may already have gone; an abort needs no answer.
        }
    }

    private static void Send(NbdSession session, byte[] data) => session.Stream.Write(data);
}
