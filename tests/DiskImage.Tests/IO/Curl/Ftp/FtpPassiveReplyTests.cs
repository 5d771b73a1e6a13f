using System.Net;
using DiskImage.IO.Curl.Ftp;

namespace DiskImage.Tests.IO.Curl.Ftp;

public class FtpPassiveReplyTests
{
    [Theory]
    [InlineData("Entering Extended Passive Mode (|||40023|)", 40023)]
    [InlineData("Entering extended passive mode (|||1|).", 1)]
    [InlineData("ok (!!!65535!)", 65535)]
    [InlineData("(###2121#)", 2121)]
    public void An_epsv_reply_gives_its_port(string text, int port)
    {
        Assert.Equal(port, FtpPassiveReply.ParseEpsv(text));
    }

    [Theory]
    [InlineData("Entering Extended Passive Mode")]
    [InlineData("(|||0|)")]
    [InlineData("(|||65536|)")]
    [InlineData("(|||123456|)")]
    [InlineData("(|||x|)")]
    [InlineData("(||40023|)")]
    [InlineData("(|!|40023|)")]
    [InlineData("(111401111)")]
    [InlineData("(|||40023)")]
    [InlineData("(|||40023|")]
    [InlineData("(   40023 )")]
    public void A_malformed_epsv_reply_gives_nothing(string text)
    {
        Assert.Null(FtpPassiveReply.ParseEpsv(text));
    }

    [Theory]
    [InlineData("Entering Passive Mode (127,0,0,1,156,87).", "127.0.0.1", 40023)]
    [InlineData("Entering Passive Mode 10,1,2,3,0,21", "10.1.2.3", 21)]
    [InlineData("=192,168,1,20,255,255", "192.168.1.20", 65535)]
    [InlineData("port 7 then (1,2,3,4,0,1)", "1.2.3.4", 1)]
    [InlineData("(1000,1,2,3,4,5) (4,3,2,1,0,80)", "4.3.2.1", 80)]
    public void A_pasv_reply_gives_its_address_and_port(string text, string host, int port)
    {
        Assert.Equal((IPAddress.Parse(host), port), FtpPassiveReply.ParsePasv(text));
    }

    [Theory]
    [InlineData("Entering Passive Mode")]
    [InlineData("(127,0,0,1,156)")]
    [InlineData("(127,0,0,256,1,1)")]
    [InlineData("(127,0,0,1,0,0)")]
    [InlineData("(127,0,0,1,-1,2)")]
    [InlineData("(127, 0, 0, 1, 4, 1)")]
    public void A_malformed_pasv_reply_gives_nothing(string text)
    {
        Assert.Null(FtpPassiveReply.ParsePasv(text));
    }
}
