using Oakley.Crypto.Tls;
using Oakley.Engine.Eap;
using Oakley.Testing;
using Oakley.Tests.Shared;

namespace Oakley.Engine.Tests;

/// <summary>
/// EAP-TLS against strongSwan 5.9.8's TLS stack (libtls), which has no RFC 5746 secure renegotiation. The server gets
/// a ClientHello shaped like strongSwan's: TLS 1.2, no supported_versions, SNI, supported_groups, signature_algorithms
/// and signature_algorithms_cert only, neither renegotiation_info nor TLS_EMPTY_RENEGOTIATION_INFO_SCSV, no
/// ec_point_formats, no extended_master_secret (BouncyCastle's client always adds the SCSV, so the hello is built from
/// bytes). The peer gets a ServerHello without extensions, as strongSwan's server sends.
/// </summary>
public class EapTlsLegacyHelloTests
{
    // strongSwan's order: ECDHE_ECDSA (AES-256-GCM, AES-256-CBC-SHA384, AES-256-CBC-SHA, AES-128-GCM, ...), ECDHE_RSA,
    // then static RSA; none of these values is an SCSV.
    private static readonly ushort[] Suites =
    [
        0xC02C, 0xC024, 0xC00A, 0xC02B, 0xC023, 0xC009, 0xC030, 0xC028, 0xC014, 0xC02F, 0xC027, 0xC013,
        0x009D, 0x003D, 0x0035, 0x009C, 0x003C, 0x002F,
    ];

    // x25519, secp256r1, secp384r1, secp521r1 (RFC 8422 §5.1.1, RFC 7748).
    private static readonly ushort[] Groups = [0x001D, 0x0017, 0x0018, 0x0019];

    // ecdsa_secp256r1_sha256 .. ecdsa_secp521r1_sha512, rsa_pss_rsae_*, rsa_pkcs1_* (RFC 8446 §4.2.3).
    private static readonly ushort[] SigAlgs = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601];

    [Theory]
    [InlineData("ecdsa256", 0xC02C)]
    [InlineData("rsa2048", 0xC030)]
    public void AClientWithoutSecureRenegotiation_GetsAServerHello(string serverKind, int expectedSuite)
    {
        var ca = TestPki.NewCa("ecdsa256");
        var side = EapTlsTests.Make(ca, serverKind, "a.example");
        var options = new EapTlsOptions { Now = EapTlsTests.Now, MaxVersion = TlsVersion.Tls13 };
        using var server = new EapTlsServer(side.Credential, Identity.Parse("b.example"), side.Store, options, new SeededEntropy(5));
        Assert.Equal(EapStepKind.Send, server.Start(1).Kind);

        // RFC 5216 §3.2: flags 0 (no L, M or S bit), then the TLS record.
        var step = server.Process(1, [0x00, .. ClientHelloRecord()]);

        Assert.Equal(EapStepKind.Send, step.Kind);
        var typeData = step.Data!;
        var tls = (typeData[0] & 0x80) != 0 ? typeData[5..] : typeData[1..];
        Assert.Equal(22, tls[0]); // handshake record
        Assert.Equal(2, tls[5]); // ServerHello (RFC 5246 §7.4)
        Assert.Equal(new byte[] { 3, 3 }, tls[9..11]); // TLS 1.2: the client offered nothing newer
        var sessionIdLength = tls[43];
        var suite = (tls[44 + sessionIdLength] << 8) | tls[45 + sessionIdLength];
        Assert.Equal(expectedSuite, suite);
    }

    [Fact]
    public void AServerHello_WithoutRenegotiationInfo_IsAccepted_ByThePeer()
    {
        var ca = TestPki.NewCa("ecdsa256");
        var side = EapTlsTests.Make(ca, "ecdsa256", "a.example");
        var options = new EapTlsOptions { Now = EapTlsTests.Now, MaxVersion = TlsVersion.Tls13 };
        using var peer = new EapTlsPeer(side.Credential, Identity.Parse("b.example"), side.Store, options, new SeededEntropy(6));
        Assert.Equal(EapStepKind.Send, peer.Process(1, [0x20]).Kind); // RFC 5216 §3.2: the Start bit; our ClientHello

        // RFC 5246 §7.4.1.3 without the optional extensions field; the random carries no RFC 8446 §4.1.3 downgrade marker.
        var random = Enumerable.Range(0, 32).Select(i => (byte)(i * 5 + 1)).ToArray();
        byte[] body = [3, 3, .. random, 0, 0xC0, 0x2C, 0];
        byte[] handshake = [2, 0, 0, (byte)body.Length, .. body];
        var step = peer.Process(2, [0x00, 22, 3, 3, .. U16(handshake.Length), .. handshake]);

        // The rest of the server's flight is still to come: the peer acknowledges, it does not fail.
        Assert.True(step.Kind == EapStepKind.Send, step.Error);
    }

    private static byte[] ClientHelloRecord()
    {
        var extensions = new List<byte>();
        var name = "a.example"u8.ToArray();
        // RFC 6066 §3: server_name_list { host_name(0), name }.
        Extension(extensions, 0, [.. U16(name.Length + 3), 0, .. U16(name.Length), .. name]);
        Extension(extensions, 10, List16(Groups));
        Extension(extensions, 13, List16(SigAlgs));
        Extension(extensions, 50, List16(SigAlgs));

        var random = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();
        byte[] body =
        [
            3, 3, .. random,
            0, // empty session_id
            .. List16(Suites),
            1, 0, // compression: null only
            .. U16(extensions.Count), .. extensions,
        ];
        byte[] handshake = [1, (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];
        return [22, 3, 1, .. U16(handshake.Length), .. handshake];
    }

    private static void Extension(List<byte> into, int type, byte[] data)
    {
        into.AddRange(U16(type));
        into.AddRange(U16(data.Length));
        into.AddRange(data);
    }

    private static byte[] List16(ushort[] values) => [.. U16(values.Length * 2), .. values.SelectMany(v => U16(v))];

    private static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];
}
