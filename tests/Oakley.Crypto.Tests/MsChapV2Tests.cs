using Oakley.Crypto.Eap;
using Org.BouncyCastle.Crypto.Digests;

namespace Oakley.Crypto.Tests;

/// <summary>MS-CHAPv2 against RFC 2759 §9.2/§9.3 and the MPPE keys against RFC 3079 §3.5.3.</summary>
public class MsChapV2Tests
{
    // RFC 2759 §9.2 (the same inputs are RFC 3079 §3.5.3's).
    private static readonly byte[] UserName = "User"u8.ToArray();
    private static readonly byte[] Password = "clientPass"u8.ToArray();
    private static readonly byte[] AuthenticatorChallenge = Convert.FromHexString("5B5D7C7D7B3F2F3E3C2C602132262628");
    private static readonly byte[] PeerChallenge = Convert.FromHexString("21402324255E262A28295F2B3A337C7E");
    private const string Challenge = "D02E4386BCE91226";
    private const string PasswordHash = "44EBBA8D5312B8D611474411F56989AE";
    private const string NtResponse = "82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF";
    private const string PasswordHashHash = "41C00C584BD2D91C4017A2A12FA59F3F";
    private const string AuthenticatorResponse = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

    // RFC 3079 §3.5.3.
    private const string MasterKey = "FDECE3717A8C838CB388E527AE3CDD31";
    private const string SendStartKey128 = "8B7CDC149B993A1BA118CB153F56DCCB";

    [Fact]
    public void NtPasswordHash_Rfc2759()
    {
        var hash = new byte[16];
        MsChapV2.NtPasswordHash(Password, hash);
        Assert.Equal(PasswordHash, Convert.ToHexString(hash));
    }

    [Fact]
    public void HashNtPasswordHash_Rfc2759()
    {
        var hashHash = new byte[16];
        MsChapV2.HashNtPasswordHash(Convert.FromHexString(PasswordHash), hashHash);
        Assert.Equal(PasswordHashHash, Convert.ToHexString(hashHash));
    }

    [Fact]
    public void ChallengeHash_Rfc2759()
    {
        var challenge = new byte[8];
        MsChapV2.ChallengeHash(PeerChallenge, AuthenticatorChallenge, UserName, challenge);
        Assert.Equal(Challenge, Convert.ToHexString(challenge));
    }

    [Fact]
    public void ChallengeResponse_Rfc2759()
    {
        var response = new byte[24];
        MsChapV2.ChallengeResponse(Convert.FromHexString(Challenge), Convert.FromHexString(PasswordHash), response);
        Assert.Equal(NtResponse, Convert.ToHexString(response));
    }

    [Fact]
    public void GenerateNtResponse_Rfc2759()
    {
        var response = new byte[24];
        MsChapV2.GenerateNtResponse(AuthenticatorChallenge, PeerChallenge, UserName, Convert.FromHexString(PasswordHash), response);
        Assert.Equal(NtResponse, Convert.ToHexString(response));
    }

    [Fact]
    public void GenerateAuthenticatorResponse_Rfc2759()
    {
        var response = new byte[20];
        MsChapV2.GenerateAuthenticatorResponse(
            Convert.FromHexString(PasswordHash), Convert.FromHexString(NtResponse), PeerChallenge, AuthenticatorChallenge, UserName, response);
        Assert.Equal(AuthenticatorResponse, "S=" + Convert.ToHexString(response));
    }

    [Fact]
    public void DesKeyExpansion_Rfc2759_9_3()
    {
        // RFC 2759 §9.3: password "MyPw".
        var hash = new byte[16];
        MsChapV2.NtPasswordHash("MyPw"u8, hash);
        Assert.Equal("FC156AF7EDCD6C0EDDE3337D427F4EAC", Convert.ToHexString(hash));
        var key = new byte[8];
        MsChapV2.ExpandDesKey(hash.AsSpan(0, 7), key);
        Assert.Equal("FD0B5B5E7F6E34D9", Convert.ToHexString(key));
        MsChapV2.ExpandDesKey(hash.AsSpan(7, 7), key);
        Assert.Equal("0E6E796737EA08FE", Convert.ToHexString(key));
    }

    [Fact]
    public void ChallengeResponse_TakesTheWeakKeyThatAHashEndingInZerosGives()
    {
        // The third DES key is the last two hash octets then five zeros: 00 00 gives the all-zero (weak) key, which
        // the BCL's DES refuses. DES under the zero key maps the zero block to 8CA64DE9C1B123A7 (a classic DES vector).
        var hash = Convert.FromHexString("0123456789ABCDEF0123456789AB0000");
        var response = new byte[24];
        MsChapV2.ChallengeResponse(new byte[8], hash, response);
        Assert.Equal("8CA64DE9C1B123A7", Convert.ToHexString(response.AsSpan(16)));
    }

    [Fact]
    public void GetMasterKey_Rfc3079()
    {
        var master = new byte[16];
        MsChapV2.GetMasterKey(Convert.FromHexString(PasswordHashHash), Convert.FromHexString(NtResponse), master);
        Assert.Equal(MasterKey, Convert.ToHexString(master));
    }

    [Fact]
    public void GetAsymmetricStartKey_Rfc3079_SendStartKeyIsTheServersSendAndTheClientsReceiveKey()
    {
        var master = Convert.FromHexString(MasterKey);
        var serverSend = new byte[16];
        var clientReceive = new byte[16];
        var serverReceive = new byte[16];
        var clientSend = new byte[16];
        MsChapV2.GetAsymmetricStartKey(master, serverSend, isSend: true, isServer: true);
        MsChapV2.GetAsymmetricStartKey(master, clientReceive, isSend: false, isServer: false);
        MsChapV2.GetAsymmetricStartKey(master, serverReceive, isSend: false, isServer: true);
        MsChapV2.GetAsymmetricStartKey(master, clientSend, isSend: true, isServer: false);
        Assert.Equal(SendStartKey128, Convert.ToHexString(serverSend));
        Assert.Equal(SendStartKey128, Convert.ToHexString(clientReceive));
        Assert.Equal(serverReceive, clientSend);
        Assert.NotEqual(serverSend, serverReceive);

        // RFC 3079 §3.5.1/§3.5.2 (40- and 56-bit keys): the 8-octet send start key from the same MasterKey.
        var short8 = new byte[8];
        MsChapV2.GetAsymmetricStartKey(master, short8, isSend: true, isServer: true);
        Assert.Equal("8B7CDC149B993A1B", Convert.ToHexString(short8));
    }

    [Fact]
    public void DeriveMsk_IsServerReceiveThenServerSendThenZeros_AndTheSameOnBothSides()
    {
        var hash = Convert.FromHexString(PasswordHash);
        var nt = Convert.FromHexString(NtResponse);
        var server = MsChapV2.DeriveMsk(hash, nt, isServer: true);
        var peer = MsChapV2.DeriveMsk(hash, nt, isServer: false);
        Assert.Equal(64, server.Length);
        Assert.Equal(server, peer);

        var serverReceive = new byte[16];
        MsChapV2.GetAsymmetricStartKey(Convert.FromHexString(MasterKey), serverReceive, isSend: false, isServer: true);
        Assert.Equal(serverReceive, server[..16]);
        Assert.Equal(SendStartKey128, Convert.ToHexString(server, 16, 16));
        Assert.All(server[32..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void NtPasswordHash_OfNonAsciiUtf8_IsMd4OverItsUtf16Le()
    {
        // "pässwörd€" in UTF-8, and the same characters in UTF-16LE, written out by hand.
        var utf8 = new byte[] { 0x70, 0xC3, 0xA4, 0x73, 0x73, 0x77, 0xC3, 0xB6, 0x72, 0x64, 0xE2, 0x82, 0xAC };
        var utf16 = new byte[] { 0x70, 0, 0xE4, 0, 0x73, 0, 0x73, 0, 0x77, 0, 0xF6, 0, 0x72, 0, 0x64, 0, 0xAC, 0x20 };
        var md4 = new MD4Digest();
        md4.BlockUpdate(utf16, 0, utf16.Length);
        var expected = new byte[16];
        md4.DoFinal(expected, 0);

        var hash = new byte[16];
        MsChapV2.NtPasswordHash(utf8, hash);
        Assert.Equal(expected, hash);
    }

    [Fact]
    public void NtPasswordHash_OfTheEmptyPassword_IsMd4OfNothing()
    {
        // RFC 1320 §A.5: MD4("") = 31d6cfe0d16ae931b73c59d7e0c089c0.
        var hash = new byte[16];
        MsChapV2.NtPasswordHash([], hash);
        Assert.Equal("31D6CFE0D16AE931B73C59D7E0C089C0", Convert.ToHexString(hash));
    }

    [Theory]
    [InlineData("User", "User")]
    [InlineData("BIGCO\\johndoe", "johndoe")]
    [InlineData("A\\B\\c", "B\\c")]
    [InlineData("DOMAIN\\", "")]
    [InlineData("", "")]
    public void WithoutDomain_DropsWhatPrecedesTheFirstBackslash(string name, string expected)
    {
        Assert.Equal(expected, System.Text.Encoding.UTF8.GetString(MsChapV2.WithoutDomain(System.Text.Encoding.UTF8.GetBytes(name))));
    }

    [Fact]
    public void WrongBufferLengths_AreCallerErrors()
    {
        Assert.Throws<ArgumentException>(() => MsChapV2.NtPasswordHash(Password, new byte[15]));
        Assert.Throws<ArgumentException>(() => MsChapV2.ChallengeHash(new byte[15], AuthenticatorChallenge, UserName, new byte[8]));
        Assert.Throws<ArgumentException>(() => MsChapV2.ChallengeResponse(new byte[8], new byte[16], new byte[23]));
        Assert.Throws<ArgumentException>(() => MsChapV2.GetMasterKey(new byte[16], new byte[23], new byte[16]));
        Assert.Throws<ArgumentException>(() => MsChapV2.GetAsymmetricStartKey(new byte[16], new byte[21], true, true));
        Assert.Throws<ArgumentException>(() => MsChapV2.DeriveMsk(new byte[16], new byte[20], true));
    }
}
