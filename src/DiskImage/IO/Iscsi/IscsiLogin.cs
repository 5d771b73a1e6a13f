using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace DiskImage.IO.Iscsi;

/// <summary>
/// The login phase (RFC 7143 section 6.3): security negotiation (AuthMethod None, or CHAP with MD5 when a user is
/// given), then operational negotiation, then full feature phase. Every answer is checked: the stage the target
/// names, its status, the keys it returns and their values, and the number of rounds, so a broken target fails
/// with one line instead of looping.
/// </summary>
internal sealed class IscsiLogin(IscsiTarget target, Func<IscsiPdu, IscsiPdu> exchange)
{
    private const int SecurityStage = 0;
    private const int OperationalStage = 1;
    private const int FullFeaturePhase = 3;
    private const int MaxRounds = 16;

    private readonly byte[] _isid = NewIsid();
    private ushort _tsih;
    private int _rounds;

    /// <summary>The command sequence number the first command carries (login requests are immediate and do not advance it).</summary>
    public uint CmdSN { get; } = 1;

    /// <summary>The status sequence number expected next.</summary>
    public uint ExpStatSN { get; private set; }

    /// <summary>Logs in; the negotiated parameters, or an <see cref="IscsiProtocolException"/> with libiscsi's words.</summary>
    public IscsiNegotiated Run()
    {
        var keys = new List<KeyValuePair<string, string>>
        {
            new("InitiatorName", target.InitiatorName),
            new("TargetName", target.TargetName),
            new("SessionType", "Normal"),
            new("AuthMethod", target.User is null ? "None" : "CHAP,None"),
        };
        var reply = Send(SecurityStage, transit: target.User is null, keys);
        var stage = SecurityStage;
        var chapAlgorithmSent = false;
        while (stage == SecurityStage)
        {
            var answer = Keys(reply);
            if (Transits(reply, out var next))
            {
                if (next != OperationalStage && next != FullFeaturePhase)
                {
                    throw Broken("asked to skip to an unknown stage");
                }

                stage = OperationalStage;
                break;
            }

            if (Find(answer, "AuthMethod") == "CHAP" && !chapAlgorithmSent)
            {
                chapAlgorithmSent = true;
                reply = Send(SecurityStage, transit: false, [new("CHAP_A", "5")]);
            }
            else if (Find(answer, "CHAP_C") is { } challenge)
            {
                reply = Send(SecurityStage, transit: true, ChapResponse(answer, challenge));
            }
            else
            {
                reply = Send(SecurityStage, transit: true, []);
            }
        }

        reply = Send(OperationalStage, transit: true, OperationalKeys());
        var negotiated = Operational(Keys(reply));
        while (!Transits(reply, out _))
        {
            reply = Send(OperationalStage, transit: true, []);
            negotiated = Operational(Keys(reply), negotiated);
        }

        return negotiated;
    }

    private List<KeyValuePair<string, string>> OperationalKeys() =>
    [
        new("HeaderDigest", target.HeaderDigest switch
        {
            IscsiDigest.None => "None",
            IscsiDigest.Crc32c => "CRC32C",
            IscsiDigest.Crc32cNone => "CRC32C,None",
            _ => "None,CRC32C",
        }),
        new("DataDigest", "None"),
        new("InitialR2T", "Yes"),
        new("ImmediateData", "Yes"),
        new("MaxBurstLength", IscsiNegotiated.OfferedBurstLength.ToString(CultureInfo.InvariantCulture)),
        new("FirstBurstLength", IscsiNegotiated.OfferedBurstLength.ToString(CultureInfo.InvariantCulture)),
        new("MaxRecvDataSegmentLength", IscsiNegotiated.OurMaxRecvDataSegmentLength.ToString(CultureInfo.InvariantCulture)),
        new("MaxConnections", "1"),
        new("MaxOutstandingR2T", "1"),
        new("DataPDUInOrder", "Yes"),
        new("DataSequenceInOrder", "Yes"),
        new("ErrorRecoveryLevel", "0"),
        new("DefaultTime2Wait", "2"),
        new("DefaultTime2Retain", "0"),
    ];

    /// <summary>The target's operational answers applied to <paramref name="current"/>; values out of RFC 7143's ranges are refused.</summary>
    public static IscsiNegotiated Operational(IReadOnlyList<KeyValuePair<string, string>> answer, IscsiNegotiated? current = null)
    {
        var result = current ?? new IscsiNegotiated();
        foreach (var (key, value) in answer)
        {
            result = key switch
            {
                "MaxRecvDataSegmentLength" => result with { TargetMaxRecvDataSegmentLength = Length(key, value, IscsiNegotiated.OurMaxRecvDataSegmentLength * 64) },
                "MaxBurstLength" => result with { MaxBurstLength = Math.Min(Length(key, value, int.MaxValue), IscsiNegotiated.OfferedBurstLength) },
                "FirstBurstLength" => result with { FirstBurstLength = Math.Min(Length(key, value, int.MaxValue), IscsiNegotiated.OfferedBurstLength) },
                "ImmediateData" => result with { ImmediateData = YesNo(key, value) },
                "InitialR2T" => Checked(YesNo(key, value), result),
                "HeaderDigest" => result with
                {
                    HeaderDigest = value switch
                    {
                        "None" => false,
                        "CRC32C" => true,
                        _ => throw Broken($"answered HeaderDigest={value}"),
                    },
                },
                "DataDigest" when value != "None" => throw Broken($"answered DataDigest={value}"),
                _ => result,
            };
        }

        return result;
    }

    /// <summary>InitialR2T is Yes when either side says Yes, and this side does: the answer is only checked for form.</summary>
    private static IscsiNegotiated Checked(bool answer, IscsiNegotiated result) => answer ? result : result;

    private static int Length(string key, string value, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 512 && n <= Math.Max(max, 512)
            ? n : throw Broken($"answered {key}={value}");

    private static bool YesNo(string key, string value) => value switch
    {
        "Yes" => true,
        "No" => false,
        _ => throw Broken($"answered {key}={value}"),
    };

    /// <summary>CHAP's answer: MD5 over the identifier, the secret and the challenge (RFC 1994), algorithm 5 only.</summary>
    private List<KeyValuePair<string, string>> ChapResponse(IReadOnlyList<KeyValuePair<string, string>> answer, string challenge)
    {
        if (Find(answer, "CHAP_A") is { } algorithm && algorithm != "5")
        {
            throw Broken($"offered CHAP_A={algorithm}");
        }

        if (!int.TryParse(Find(answer, "CHAP_I"), NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id > 255)
        {
            throw Broken("sent no valid CHAP_I");
        }

        var challengeBytes = ChapBytes(challenge) ?? throw Broken("sent no valid CHAP_C");
        var secret = Encoding.UTF8.GetBytes(target.Password ?? "");
        var input = new byte[1 + secret.Length + challengeBytes.Length];
        input[0] = (byte)id;
        secret.CopyTo(input, 1);
        challengeBytes.CopyTo(input, 1 + secret.Length);
#pragma warning disable CA5351 // CHAP is defined over MD5.
        var response = MD5.HashData(input);
#pragma warning restore CA5351
        return [new("CHAP_N", target.User!), new("CHAP_R", "0x" + Convert.ToHexStringLower(response))];
    }

    /// <summary>A CHAP binary value: <c>0x</c> hex (at most 1024 bytes), or <c>0b</c> base64.</summary>
    public static byte[]? ChapBytes(string value)
    {
        try
        {
            return value.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && value.Length > 2 && value.Length <= 2050
                ? Convert.FromHexString(value.Length % 2 == 0 ? value[2..] : "0" + value[2..])
                : value.StartsWith("0b", StringComparison.OrdinalIgnoreCase) && value.Length > 2 && value.Length <= 1400 ? Convert.FromBase64String(value[2..])
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private IscsiPdu Send(int stage, bool transit, List<KeyValuePair<string, string>> keys)
    {
        if (++_rounds > MaxRounds)
        {
            throw Broken("kept the login going");
        }

        var next = stage == SecurityStage ? OperationalStage : FullFeaturePhase;
        var request = new IscsiPdu(IscsiOpcode.LoginRequest, immediate: true)
        {
            Flags = (byte)((transit ? 0x80 : 0) | (stage << 2) | (transit ? next : 0)),
            InitiatorTaskTag = (uint)_rounds,
            Data = IscsiTextKeys.Encode(keys),
        };
        _isid.CopyTo(request.Header, 8);
        request.Header[14] = (byte)(_tsih >> 8);
        request.Header[15] = (byte)_tsih;
        request.SetUInt32(24, CmdSN);
        request.SetUInt32(28, ExpStatSN);
        var reply = exchange(request);
        if (reply.Opcode != IscsiOpcode.LoginResponse)
        {
            throw Broken($"answered the login with opcode 0x{(int)reply.Opcode:x2}");
        }

        var status = (reply.Header[36] << 8) | reply.Header[37];
        if (status != 0)
        {
            throw new IscsiProtocolException($"Failed to log in to target. Status: {IscsiLoginStatus.Text(status)}");
        }

        if ((reply.Flags & 0x40) != 0)
        {
            throw Broken("continued a login response, which this initiator does not take");
        }

        if (((reply.Flags >> 2) & 3) != stage)
        {
            throw Broken("answered for another login stage");
        }

        _tsih = (ushort)((reply.Header[14] << 8) | reply.Header[15]);
        ExpStatSN = reply.UInt32(24) + 1;
        return reply;
    }

    private static bool Transits(IscsiPdu reply, out int next)
    {
        next = reply.Flags & 3;
        return reply.Final;
    }

    private static List<KeyValuePair<string, string>> Keys(IscsiPdu reply) =>
        IscsiTextKeys.Parse(reply.Data) ?? throw Broken("sent malformed login keys");

    private static string? Find(IReadOnlyList<KeyValuePair<string, string>> keys, string name) =>
        keys.FirstOrDefault(k => k.Key == name).Value;

    private static IscsiProtocolException Broken(string what) => new($"Login failed: target {what}");

    private static byte[] NewIsid()
    {
        // Type "random" (0x80), then a random qualifier, so two logins from this host never share a session identifier.
        var isid = new byte[6];
        RandomNumberGenerator.Fill(isid.AsSpan(1));
        isid[0] = 0x80;
        return isid;
    }
}
