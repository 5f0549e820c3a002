namespace Oakley.Iana.Tests;

public class IkeProtocolExceptionTests
{
    [Fact]
    public void UnsupportedCriticalPayload_AnswersWithTheNotifyAndThePayloadTypeAsData()
    {
        // RFC 7296 §3.10.1: UNSUPPORTED_CRITICAL_PAYLOAD (1) carries the one-octet type of the offending payload.
        var e = IkeProtocolException.UnsupportedCriticalPayload(200);
        Assert.Equal(ProtocolErrorAction.NotifyV2, e.Action);
        Assert.Equal((ushort)1, (ushort)e.Notify);
        Assert.Equal([200], e.NotifyData);
        Assert.False(e.IsDrop);
    }

    [Fact]
    public void InvalidSyntax_IsAnIkev2NotifyWithoutData()
    {
        var e = IkeProtocolException.InvalidSyntax("nonce of 3 bytes");
        Assert.Equal(ProtocolErrorAction.NotifyV2, e.Action);
        Assert.Equal((ushort)7, (ushort)e.Notify); // INVALID_SYNTAX, RFC 7296 §3.10.1
        Assert.Empty(e.NotifyData);
        Assert.Equal("InvalidSyntax: nonce of 3 bytes", e.ToString());
    }

    [Fact]
    public void IsakmpNotify_AnswersWithTheIsakmpType_AndDropAnswersNothing()
    {
        var v1 = IkeProtocolException.WithIsakmpNotify(IsakmpNotifyType.PayloadMalformed, "short SA");
        Assert.Equal(ProtocolErrorAction.NotifyV1, v1.Action);
        Assert.Equal((ushort)16, (ushort)v1.IsakmpNotify); // PAYLOAD-MALFORMED, RFC 2408 §3.14.1
        Assert.Equal("PayloadMalformed: short SA", v1.ToString());

        var drop = IkeProtocolException.Drop("length field differs from the datagram");
        Assert.True(drop.IsDrop);
        Assert.Equal("drop: length field differs from the datagram", drop.ToString());
    }
}
