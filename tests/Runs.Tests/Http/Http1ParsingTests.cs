using System.Text;
using Constellation.Runs.Http;

namespace Constellation.Runs.Tests.Http;

public sealed class Http1ParsingTests
{
    [Theory]
    [InlineData("HTTP/1.1 200 OK", 200)]
    [InlineData("HTTP/1.0 503 Service Unavailable", 503)]
    [InlineData("HTTP/1.1 302 Found", 302)]
    public void ParseStatus_StatusLine_ReturnsCode(string line, int expected) =>
        Http1Connection.ParseStatus(Encoding.ASCII.GetBytes(line)).ShouldBe(expected);

    [Theory]
    [InlineData("HTTP/2 200")]
    [InlineData("HTTP/1.1 2x0 OK")]
    [InlineData("garbage")]
    [InlineData("HTTP/1.1 600 Beyond")]
    [InlineData("HTTP/1.1 999 Nine")]
    [InlineData("HTTP/1.1 099 Low")]
    public void ParseStatus_NotHttp1_Throws(string line) =>
        Should.Throw<InvalidDataException>(() => Http1Connection.ParseStatus(Encoding.ASCII.GetBytes(line)));

    [Fact]
    public void ParseHeaders_FramingAndConnection_AreRead()
    {
        var head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-LENGTH: 1234\r\nConnection: Close");
        long length = -1;
        bool chunked = false, close = false;

        Http1Connection.ParseHeaders(head, ref length, ref chunked, ref close);

        length.ShouldBe(1234);
        chunked.ShouldBeFalse();
        close.ShouldBeTrue();
    }

    [Theory]
    [InlineData("Content-Length: 5\r\nContent-Length: 500", "conflicting")]
    [InlineData("Content-Length: 99999999999999999999", "too large")]
    [InlineData("Content-Length: ", "empty")]
    [InlineData("Content-Length: -1", "bad")]
    public void ParseHeaders_AmbiguousOrOverflowingContentLength_IsAnError(string headers, string message)
    {
        var head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\n" + headers);
        long length = -1;
        bool chunked = false, close = false;

        Should.Throw<InvalidDataException>(() => Http1Connection.ParseHeaders(head, ref length, ref chunked, ref close)).Message.ShouldContain(message);
    }

    [Fact]
    public void ParseHeaders_TheSameContentLengthTwice_IsAccepted()
    {
        var head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7");
        long length = -1;
        bool chunked = false, close = false;

        Http1Connection.ParseHeaders(head, ref length, ref chunked, ref close);

        length.ShouldBe(7);
    }

    [Fact]
    public void ParseHeaders_Chunked_IsDetected()
    {
        var head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked");
        long length = -1;
        bool chunked = false, close = false;

        Http1Connection.ParseHeaders(head, ref length, ref chunked, ref close);

        chunked.ShouldBeTrue();
        length.ShouldBe(-1);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("1a", 26)]
    [InlineData("FF;ext=1", 255)]
    public void ParseChunkSize_HexWithExtensions_ReturnsSize(string line, long expected) =>
        Http1Connection.ParseChunkSize(Encoding.ASCII.GetBytes(line)).ShouldBe(expected);

    [Fact]
    public void ParseChunkSize_NoDigits_Throws() =>
        Should.Throw<InvalidDataException>(() => Http1Connection.ParseChunkSize(";x"u8.ToArray()));
}
