using System.Security.Cryptography;
using System.Text;
using DiskImage.IO.Iscsi;

namespace DiskImage.Tests.IO.Iscsi;

/// <summary>The iSCSI initiator's parsers and builders: PDU framing, text keys, sense data, URLs and the login exchange.</summary>
public class IscsiCodecTests
{
    [Fact]
    public void A_pdu_round_trips_with_its_data_padded_to_four_bytes()
    {
        var pdu = new IscsiPdu(IscsiOpcode.ScsiCommand) { Flags = 0xc1, InitiatorTaskTag = 0x1234, Data = [1, 2, 3, 4, 5] };
        var wire = pdu.Encode(headerDigest: false);

        Assert.Equal(48 + 8, wire.Length);
        Assert.Equal(5, IscsiPdu.DataSegmentLength(wire));
        var back = IscsiPdu.Read(new MemoryStream(wire), headerDigest: false, maxData: 1024);
        Assert.Equal(IscsiOpcode.ScsiCommand, back.Opcode);
        Assert.Equal(0x1234u, back.InitiatorTaskTag);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, back.Data);
    }

    [Fact]
    public void A_data_segment_beyond_the_negotiated_limit_is_refused_before_it_is_read()
    {
        var wire = new IscsiPdu(IscsiOpcode.DataIn) { Data = new byte[9000] }.Encode(headerDigest: false);

        var error = Assert.Throws<IscsiProtocolException>(() => IscsiPdu.Read(new MemoryStream(wire), false, 8192));
        Assert.Contains("9000", error.Message, StringComparison.Ordinal);
        Assert.Null(IscsiPdu.Decode(wire, 8192));
    }

    [Fact]
    public void A_header_digest_is_checked()
    {
        var wire = new IscsiPdu(IscsiOpcode.NopIn) { InitiatorTaskTag = 7 }.Encode(headerDigest: true);
        Assert.Equal(7u, IscsiPdu.Read(new MemoryStream(wire), true, 0).InitiatorTaskTag);

        wire[20] ^= 1;
        Assert.Throws<IscsiProtocolException>(() => IscsiPdu.Read(new MemoryStream(wire), true, 0));
    }

    [Fact]
    public void Crc32c_matches_the_castagnoli_check_value()
    {
        Assert.Equal(0xe3069283u, Crc32c.Compute("123456789"u8));
    }

    [Fact]
    public void Text_keys_parse_in_order_and_refuse_malformed_pairs()
    {
        var pairs = IscsiTextKeys.Parse(IscsiTextKeys.Encode([new("HeaderDigest", "None"), new("MaxBurstLength", "262144")]));
        Assert.Equal(["HeaderDigest=None", "MaxBurstLength=262144"], pairs!.Select(p => $"{p.Key}={p.Value}"));
        Assert.Null(IscsiTextKeys.Parse("NoEquals\0"u8));
        Assert.Null(IscsiTextKeys.Parse("=value\0"u8));
        Assert.Null(IscsiTextKeys.Parse("A=1\0A=2\0"u8));
        Assert.Null(IscsiTextKeys.Parse("A=1\0\0B=2\0"u8));
        Assert.NotNull(IscsiTextKeys.Parse("A=1\0\0\0"u8));
        Assert.Null(IscsiTextKeys.Parse(Encoding.ASCII.GetBytes(new string('k', 64) + "=1\0")));
    }

    [Fact]
    public void Operational_answers_take_the_smaller_burst_and_refuse_values_out_of_range()
    {
        var negotiated = IscsiLogin.Operational([new("MaxRecvDataSegmentLength", "65536"), new("MaxBurstLength", "1048576"), new("FirstBurstLength", "4096"), new("ImmediateData", "No")]);

        Assert.Equal(65536, negotiated.TargetMaxRecvDataSegmentLength);
        Assert.Equal(IscsiNegotiated.OfferedBurstLength, negotiated.MaxBurstLength);
        Assert.Equal(4096, negotiated.FirstBurstLength);
        Assert.False(negotiated.ImmediateData);
        Assert.Throws<IscsiProtocolException>(() => IscsiLogin.Operational([new("MaxRecvDataSegmentLength", "0")]));
        Assert.Throws<IscsiProtocolException>(() => IscsiLogin.Operational([new("ImmediateData", "Maybe")]));
        Assert.Throws<IscsiProtocolException>(() => IscsiLogin.Operational([new("DataDigest", "CRC32C")]));
    }

    [Fact]
    public void Sense_data_decodes_in_both_formats_with_libiscsi_s_words()
    {
        byte[] fixedFormat = [0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x25, 0x00];
        Assert.Equal("SENSE KEY:ILLEGAL_REQUEST(5) ASCQ:LOGICAL_UNIT_NOT_SUPPORTED(0x2500)", ScsiSense.Decode(fixedFormat).ToString());
        byte[] descriptor = [0x72, 6, 0x29, 0x00];
        Assert.Equal(new ScsiSense(6, 0x29, 0), ScsiSense.Decode(descriptor));
        Assert.Null(ScsiSense.Decode([0x55, 1, 2, 3]));
        Assert.Null(ScsiSense.FromResponseData([0, 200, 0x70]));
    }

    [Theory]
    [InlineData("iscsi://127.0.0.1:3260/iqn.2026-12.test:t1/1", "127.0.0.1:3260", "iqn.2026-12.test:t1", 1, null)]
    [InlineData("iscsi://u%pw@host/iqn.2026-12.test%3at1/+7?x=y", "host", "iqn.2026-12.test:t1", 7, "u")]
    [InlineData("iscsi://u@host/t/0", "host", "t", 0, null)]
    public void Urls_parse_as_libiscsi_reads_them(string url, string portal, string target, int lun, string? user)
    {
        var node = IscsiNode.FromUrl(url);

        Assert.Equal((portal, target, lun, user), (node.Portal, node.TargetName, node.Lun, node.User));
    }

    [Theory]
    [InlineData("iscsi://host/target/")]
    [InlineData("iscsi://host/target")]
    [InlineData("iscsi://host/target/1/2")]
    [InlineData("iscsi://host/target/x")]
    [InlineData("http://host/target/1")]
    public void Urls_libiscsi_refuses_fail_with_qemu_s_line(string url)
    {
        var error = Assert.Throws<InvalidOptionException>(() => IscsiNode.FromUrl(url));
        Assert.Equal($"Failed to parse URL : {url}", error.Message);
    }

    [Fact]
    public void The_node_name_lists_the_options_in_qemu_s_dictionary_order()
    {
        Assert.Equal(
            "json:{\"lun\": \"1\", \"portal\": \"127.0.0.1:3271\", \"driver\": \"iscsi\", \"transport\": \"tcp\", \"target\": \"iqn.2026-12.test:t1\"}",
            IscsiNode.FromUrl("iscsi://127.0.0.1:3271/iqn.2026-12.test:t1/1").NodeName);
    }

    [Fact]
    public void Chap_login_answers_the_challenge_with_md5_of_id_secret_and_challenge()
    {
        var target = IscsiNode.FromUrl("iscsi://alice%secret@host/iqn.t/1");
        byte[] challenge = [1, 2, 3, 4, 5, 6, 7, 8];
        var requests = new List<List<KeyValuePair<string, string>>>();
        IscsiPdu Target(IscsiPdu request)
        {
            var keys = IscsiTextKeys.Parse(request.Data)!;
            requests.Add(keys);
            var stage = (request.Flags >> 2) & 3;
            var reply = new IscsiPdu(IscsiOpcode.LoginResponse);
            (reply.Flags, reply.Data) = requests.Count switch
            {
                1 => ((byte)(stage << 2), IscsiTextKeys.Encode([new("AuthMethod", "CHAP")])),
                2 => ((byte)(stage << 2), IscsiTextKeys.Encode([new("CHAP_A", "5"), new("CHAP_I", "9"), new("CHAP_C", "0x" + Convert.ToHexStringLower(challenge))])),
                3 => ((byte)(0x80 | (stage << 2) | 1), []),
                _ => ((byte)(0x80 | (stage << 2) | 3), IscsiTextKeys.Encode([new("MaxRecvDataSegmentLength", "8192")])),
            };
            return reply;
        }

        var negotiated = new IscsiLogin(target, Target).Run();

        var expected = MD5.HashData([9, .. "secret"u8, .. challenge]);
        Assert.Contains(new KeyValuePair<string, string>("CHAP_R", "0x" + Convert.ToHexStringLower(expected)), requests[2]);
        Assert.Contains(new KeyValuePair<string, string>("CHAP_N", "alice"), requests[2]);
        Assert.Equal(8192, negotiated.TargetMaxRecvDataSegmentLength);
        Assert.Equal(4, requests.Count);
    }

    [Fact]
    public void A_refused_login_gives_libiscsi_s_status_line_and_an_endless_one_stops()
    {
        var target = IscsiNode.FromUrl("iscsi://host/iqn.t/1");
        var refused = Assert.Throws<IscsiProtocolException>(() => new IscsiLogin(target, _ =>
        {
            var reply = new IscsiPdu(IscsiOpcode.LoginResponse);
            reply.Header[36] = 2;
            reply.Header[37] = 3;
            return reply;
        }).Run());
        Assert.Equal("Failed to log in to target. Status: Target not found(515)", refused.Message);

        // A target that never lets the login move on is given up on.
        Assert.Throws<IscsiProtocolException>(() => new IscsiLogin(target, _ => new IscsiPdu(IscsiOpcode.LoginResponse)).Run());
    }
}
