using System.Text;
using Oakley.Host.Radius;

namespace Oakley.Host.Tests.Radius;

/// <summary>RFC 2548 §2.4.2/§2.4.3 key encryption, and the MSK strongSwan's eap-radius builds from the two keys.</summary>
public class MppeKeysTests
{
    private static readonly byte[] Secret = Encoding.ASCII.GetBytes("xyzzy5461");
    private static readonly byte[] RequestAuthenticator = Convert.FromHexString("0f403f9473978057bd83d5cb98f4227a");

    [Fact]
    public void Encrypt_KnownValue_AndDecryptsBack()
    {
        // Computed with Python's hashlib from RFC 2548 §2.4.2: salt 0x8001, the key 00..1f, the RFC 2865 §7.1 secret
        // and Request Authenticator.
        var key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var field = MppeKeys.Encrypt(key, Secret, RequestAuthenticator, 0x8001);
        Assert.Equal("8001E74FD77A66159AF1C00E2603ED8F8A2D775B72924F399D2C98D1909D856DFA8608C3BAF92FC0C0313D7DD2B3BB1FE1E7", Convert.ToHexString(field));
        Assert.Equal(key, MppeKeys.Decrypt(field, Secret, RequestAuthenticator));
        // Under another request's authenticator the key-length byte decrypts to garbage: refused or a different key.
        var other = MppeKeys.Decrypt(field, Secret, new byte[16]);
        Assert.True(other is null || !other.AsSpan().SequenceEqual(key));
        Assert.Null(MppeKeys.Decrypt(field.AsSpan(0, 20), Secret, RequestAuthenticator)); // not whole blocks
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(64)]
    public void RoundTrip_AnyKeyLength(int length)
    {
        var key = Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();
        var field = MppeKeys.Encrypt(key, Secret, RequestAuthenticator, 0x9234);
        Assert.Equal(0, (field.Length - 2) % 16);
        Assert.Equal(key, MppeKeys.Decrypt(field, Secret, RequestAuthenticator));
    }

    [Fact]
    public void Msk_IsRecvKeyThenSendKey_PaddedTo64()
    {
        var send = Enumerable.Repeat((byte)0x55, 16).ToArray();
        var recv = Enumerable.Repeat((byte)0xAA, 16).ToArray();
        var accept = new RadiusPacket(RadiusCode.AccessAccept);
        accept.AddVendor(RadiusNumbers.VendorMicrosoft, RadiusNumbers.MsMppeSendKey, MppeKeys.Encrypt(send, Secret, RequestAuthenticator, 0x8123));
        accept.AddVendor(RadiusNumbers.VendorMicrosoft, RadiusNumbers.MsMppeRecvKey, MppeKeys.Encrypt(recv, Secret, RequestAuthenticator, 0x8456));
        var msk = MppeKeys.Msk(RadiusPacket.Parse(accept.Encode())!, Secret, RequestAuthenticator)!;
        Assert.Equal([.. recv, .. send, .. new byte[32]], msk);

        // 32-byte keys (what FreeRADIUS sends for EAP-TLS/MSCHAPv2) make the 64 bytes without padding.
        var long1 = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var long2 = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
        var full = new RadiusPacket(RadiusCode.AccessAccept);
        full.AddVendor(RadiusNumbers.VendorMicrosoft, RadiusNumbers.MsMppeRecvKey, MppeKeys.Encrypt(long1, Secret, RequestAuthenticator, 0x8001));
        full.AddVendor(RadiusNumbers.VendorMicrosoft, RadiusNumbers.MsMppeSendKey, MppeKeys.Encrypt(long2, Secret, RequestAuthenticator, 0x8002));
        Assert.Equal([.. long1, .. long2], MppeKeys.Msk(full, Secret, RequestAuthenticator)!);

        // One key alone, or another vendor's type 16, is no MSK.
        var half = new RadiusPacket(RadiusCode.AccessAccept);
        half.AddVendor(RadiusNumbers.VendorMicrosoft, RadiusNumbers.MsMppeSendKey, MppeKeys.Encrypt(send, Secret, RequestAuthenticator, 0x8123));
        half.AddVendor(9, RadiusNumbers.MsMppeRecvKey, MppeKeys.Encrypt(recv, Secret, RequestAuthenticator, 0x8456));
        Assert.Null(MppeKeys.Msk(half, Secret, RequestAuthenticator));
    }
}
