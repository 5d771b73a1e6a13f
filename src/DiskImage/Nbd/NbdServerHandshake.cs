using System.Buffers.Binary;
using System.Net.Security;
using System.Text;

namespace DiskImage.Nbd;

/// <summary>
/// The server side of the fixed newstyle handshake: options until <c>NBD_OPT_GO</c> or
/// <c>NBD_OPT_EXPORT_NAME</c> selects the export. Every length from the client is bounded before use.
/// </summary>
internal sealed class NbdServerHandshake(NbdExport export, NbdServerOptions options, IReadOnlyList<NbdExportBitmap> bitmaps)
{
    private const uint BaseAllocationId = 0;
    private const uint AllocationDepthId = 1;

    /// <summary>The negotiated session, or null when the client left, aborted or broke the protocol.</summary>
    public async Task<NbdSession?> RunAsync(Stream stream, CancellationToken cancellationToken)
    {
        var session = new NbdSession(stream);
        var greeting = new byte[18];
        BinaryPrimitives.WriteUInt64BigEndian(greeting, NbdConstants.NbdMagic);
        BinaryPrimitives.WriteUInt64BigEndian(greeting.AsSpan(8), NbdConstants.OptionMagic);
        BinaryPrimitives.WriteUInt16BigEndian(greeting.AsSpan(16), NbdConstants.FlagFixedNewstyle | NbdConstants.FlagNoZeroes);
        await stream.WriteAsync(greeting, cancellationToken).ConfigureAwait(false);

        var word = new byte[4];
        await stream.ReadExactlyAsync(word, cancellationToken).ConfigureAwait(false);
        var clientFlags = BinaryPrimitives.ReadUInt32BigEndian(word);
        if ((clientFlags & ~3u) != 0 || (clientFlags & NbdConstants.FlagFixedNewstyle) == 0)
        {
            return null;
        }

        var noZeroes = (clientFlags & NbdConstants.FlagNoZeroes) != 0;
        var tlsDone = options.Tls is null;
        var header = new byte[16];
        while (true)
        {
            await session.Stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
            if (BinaryPrimitives.ReadUInt64BigEndian(header) != NbdConstants.OptionMagic)
            {
                return null;
            }

            var option = (NbdOption)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(8));
            var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            if (length > NbdConstants.MaxOptionLength)
            {
                // Reading it to stay in step would let a client make us swallow gigabytes; say so and hang up.
                await ReplyAsync(session, option, NbdOptionReply.ErrorTooBig, "option too long", cancellationToken).ConfigureAwait(false);
                return null;
            }

            var data = new byte[length];
            await session.Stream.ReadExactlyAsync(data, cancellationToken).ConfigureAwait(false);
            if (!tlsDone && option is not (NbdOption.StartTls or NbdOption.Abort))
            {
                if (option == NbdOption.ExportName)
                {
                    return null;
                }

                await ReplyAsync(session, option, NbdOptionReply.ErrorTlsRequired, "TLS negotiation required before option", cancellationToken).ConfigureAwait(false);
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
                    BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(8), (ushort)export.Flags);
                    await session.Stream.WriteAsync(reply, cancellationToken).ConfigureAwait(false);
                    return session;

                case NbdOption.Abort:
                    await TryAckAsync(session, option, cancellationToken).ConfigureAwait(false);
                    return null;

                case NbdOption.List:
                    if (length != 0)
                    {
                        await ReplyAsync(session, option, NbdOptionReply.ErrorInvalid, "no payload expected", cancellationToken).ConfigureAwait(false);
                        break;
                    }

                    await SendAsync(session, NbdWire.OptionReply(option, NbdOptionReply.Server, ServerEntry()), cancellationToken).ConfigureAwait(false);
                    await ReplyAsync(session, option, NbdOptionReply.Ack, null, cancellationToken).ConfigureAwait(false);
                    break;

                case NbdOption.StartTls:
                    if (length != 0 || tlsDone)
                    {
                        var why = options.Tls is null ? NbdOptionReply.ErrorPolicy : NbdOptionReply.ErrorInvalid;
                        await ReplyAsync(session, option, why, "TLS not available or already negotiated", cancellationToken).ConfigureAwait(false);
                        break;
                    }

                    await ReplyAsync(session, option, NbdOptionReply.Ack, null, cancellationToken).ConfigureAwait(false);
                    var ssl = new SslStream(session.Stream, leaveInnerStreamOpen: false);
                    await ssl.AuthenticateAsServerAsync(options.Tls!, cancellationToken).ConfigureAwait(false);
                    session.Stream = ssl;
                    tlsDone = true;
                    break;

                case NbdOption.Info:
                case NbdOption.Go:
                    if (await InfoAsync(session, option, data, cancellationToken).ConfigureAwait(false) && option == NbdOption.Go)
                    {
                        return session;
                    }

                    break;

                case NbdOption.StructuredReply:
                    if (length != 0 || session.Structured)
                    {
                        await ReplyAsync(session, option, NbdOptionReply.ErrorInvalid, "structured reply already negotiated or payload given", cancellationToken).ConfigureAwait(false);
                        break;
                    }

                    session.Structured = true;
                    await ReplyAsync(session, option, NbdOptionReply.Ack, null, cancellationToken).ConfigureAwait(false);
                    break;

                case NbdOption.ListMetaContext:
                case NbdOption.SetMetaContext:
                    await MetaContextAsync(session, option, data, cancellationToken).ConfigureAwait(false);
                    break;

                default:
                    await ReplyAsync(session, option, NbdOptionReply.ErrorUnsupported, "option not supported", cancellationToken).ConfigureAwait(false);
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
    private async Task<bool> InfoAsync(NbdSession session, NbdOption option, byte[] data, CancellationToken cancellationToken)
    {
        var position = 0;
        if (!NbdWire.TryReadString32(data, ref position, out var name) || data.Length - position < 2)
        {
            await ReplyAsync(session, option, NbdOptionReply.ErrorInvalid, "malformed request", cancellationToken).ConfigureAwait(false);
            return false;
        }

        int count = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(position));
        position += 2;
        if (data.Length - position != count * 2)
        {
            await ReplyAsync(session, option, NbdOptionReply.ErrorInvalid, "malformed request", cancellationToken).ConfigureAwait(false);
            return false;
        }

        if (name != export.Name)
        {
            await ReplyAsync(session, option, NbdOptionReply.ErrorUnknown, $"export '{name}' not present", cancellationToken).ConfigureAwait(false);
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
            await SendInfoAsync(session, option, NbdInfo.Name, Encoding.UTF8.GetBytes(export.Name), cancellationToken).ConfigureAwait(false);
        }

        if (wantDescription && export.Description is not null)
        {
            await SendInfoAsync(session, option, NbdInfo.Description, Encoding.UTF8.GetBytes(export.Description), cancellationToken).ConfigureAwait(false);
        }

        var sizes = new byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(sizes, 1);
        BinaryPrimitives.WriteUInt32BigEndian(sizes.AsSpan(4), 4096);
        BinaryPrimitives.WriteUInt32BigEndian(sizes.AsSpan(8), NbdConstants.MaxPayload);
        await SendInfoAsync(session, option, NbdInfo.BlockSize, sizes, cancellationToken).ConfigureAwait(false);

        var exportInfo = new byte[10];
        BinaryPrimitives.WriteUInt64BigEndian(exportInfo, (ulong)export.Image.Length);
        BinaryPrimitives.WriteUInt16BigEndian(exportInfo.AsSpan(8), (ushort)export.Flags);
        await SendInfoAsync(session, option, NbdInfo.Export, exportInfo, cancellationToken).ConfigureAwait(false);
        await ReplyAsync(session, option, NbdOptionReply.Ack, null, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private static Task SendInfoAsync(NbdSession session, NbdOption option, NbdInfo item, byte[] payload, CancellationToken cancellationToken)
    {
        var data = new byte[2 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)item);
        payload.CopyTo(data, 2);
        return SendAsync(session, NbdWire.OptionReply(option, NbdOptionReply.Info, data), cancellationToken);
    }

    private async Task MetaContextAsync(NbdSession session, NbdOption option, byte[] data, CancellationToken cancellationToken)
    {
        var set = option == NbdOption.SetMetaContext;
        if (set && !session.Structured)
        {
            await ReplyAsync(session, option, NbdOptionReply.ErrorInvalid, "structured replies not negotiated", cancellationToken).ConfigureAwait(false);
            return;
        }

        var position = 0;
        if (!NbdWire.TryReadString32(data, ref position, out var name) || data.Length - position < 4)
        {
            await ReplyAsync(session, option, NbdOptionReply.ErrorInvalid, "malformed request", cancellationToken).ConfigureAwait(false);
            return;
        }

        var count = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(position));
        position += 4;
        var queries = new List<byte[]>();
        for (var i = 0u; i < count; i++)
        {
            if (!NbdWire.TryReadBytes32(data, ref position, out var query))
            {
                await ReplyAsync(session, option, NbdOptionReply.ErrorInvalid, "malformed request", cancellationToken).ConfigureAwait(false);
                return;
            }

            queries.Add(query);
        }

        if (position != data.Length)
        {
            await ReplyAsync(session, option, NbdOptionReply.ErrorInvalid, "malformed request", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (name != export.Name)
        {
            await ReplyAsync(session, option, NbdOptionReply.ErrorUnknown, $"export '{name}' not present", cancellationToken).ConfigureAwait(false);
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
            await SendContextAsync(session, option, BaseAllocationId, NbdConstants.BaseAllocation, cancellationToken).ConfigureAwait(false);
        }

        if (wantDepth)
        {
            await SendContextAsync(session, option, AllocationDepthId, NbdConstants.AllocationDepth, cancellationToken).ConfigureAwait(false);
        }

        foreach (var bitmap in selected)
        {
            await SendContextAsync(session, option, bitmap.ContextId, bitmap.ContextName, cancellationToken).ConfigureAwait(false);
        }

        await ReplyAsync(session, option, NbdOptionReply.Ack, null, cancellationToken).ConfigureAwait(false);
    }

    private static Task SendContextAsync(NbdSession session, NbdOption option, uint id, string name, CancellationToken cancellationToken)
    {
        var text = Encoding.UTF8.GetBytes(name);
        var data = new byte[4 + text.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, id);
        text.CopyTo(data, 4);
        return SendAsync(session, NbdWire.OptionReply(option, NbdOptionReply.MetaContext, data), cancellationToken);
    }

    private static Task ReplyAsync(NbdSession session, NbdOption option, NbdOptionReply type, string? message, CancellationToken cancellationToken) =>
        SendAsync(session, NbdWire.OptionReply(option, type, message is null ? [] : Encoding.UTF8.GetBytes(message)), cancellationToken);

    private static async Task TryAckAsync(NbdSession session, NbdOption option, CancellationToken cancellationToken)
    {
        try
        {
            await ReplyAsync(session, option, NbdOptionReply.Ack, null, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The client may already have gone; an abort needs no answer.
        }
    }

    private static async Task SendAsync(NbdSession session, byte[] data, CancellationToken cancellationToken) =>
        await session.Stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
}
