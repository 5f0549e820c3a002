using System.Buffers.Binary;
using System.Net;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;

namespace Oakley.Engine.Tests;

/// <summary>
/// The endpoint branches on the header's major version: an ISAKMP (IKEv1) message goes to its own path, which until
/// IKEv1 is built answers INVALID_MAJOR_VERSION (RFC 7296 §1.5) without state; a datagram shorter than a header is
/// dropped silently.
/// </summary>
public class VersionDispatchTests
{
    private static readonly IPEndPoint Peer = new(IPAddress.Parse("192.0.2.77"), 500);

    /// <summary>An ISAKMP Main Mode header (RFC 2408 §3.1) with an SA payload's worth of bytes behind it.</summary>
    private static byte[] Isakmp(byte version)
    {
        var d = new byte[28 + 52];
        BinaryPrimitives.WriteUInt64BigEndian(d, 0x1122334455667788UL); // initiator cookie
        d[16] = 1; // next payload: SA
        d[17] = version;
        d[18] = 2; // exchange type: Identity Protection (Main Mode)
        BinaryPrimitives.WriteUInt32BigEndian(d.AsSpan(24), (uint)d.Length);
        return d;
    }

    private static Endpoint Responder() => new Scenario().Build().B;

    [Theory]
    [InlineData(0x10)] // IKEv1 (ISAKMP 1.0)
    [InlineData(0x30)] // a version nobody speaks
    public void OtherMajorVersions_GetInvalidMajorVersion_AndNoState(byte version)
    {
        var b = Responder();
        b.HandleDatagram(DateTimeOffset.UnixEpoch, Scenario.SunAddress, Peer, Isakmp(version));
        Assert.True(b.TryPollTransmit(out var t));
        Assert.Equal(Peer, t.Remote);
        var answer = IkeMessage.Decode(t.Datagram);
        Assert.Equal(0x1122334455667788UL, answer.InitiatorSpi);
        Assert.Equal(NotifyType.InvalidMajorVersion, Assert.IsType<NotifyPayload>(Assert.Single(answer.Payloads)).NotifyType);
        Assert.False(b.TryPollTransmit(out _));
        Assert.Empty(b.IkeSas);
        Assert.Equal(1, b.Stats.Dropped.GetValueOrDefault("InvalidMajorVersion"));
    }

    [Fact]
    public void TruncatedIsakmpHeader_IsDroppedSilently()
    {
        var b = Responder();
        b.HandleDatagram(DateTimeOffset.UnixEpoch, Scenario.SunAddress, Peer, Isakmp(0x10)[..20]);
        Assert.False(b.TryPollTransmit(out _));
        Assert.Empty(b.IkeSas);
    }
}
