using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;

namespace Oakley.Crypto.Eap;

/// <summary>
/// The MS-CHAPv2 computations (RFC 2759 §8), the MPPE key derivation from them (RFC 3079 §3.4) and the EAP-MSCHAPv2
/// MSK in strongSwan's layout. Password hashes are secrets: the temporaries these functions make are zeroed before
/// they return; what the caller passes in and gets back is the caller's to zero.
/// </summary>
/// <remarks>
/// MD4 and single DES come from BouncyCastle: .NET has no MD4, and the BCL's <see cref="DES"/> (which does work with
/// ECB on OpenSSL 3) refuses weak keys, which RFC 2759's key split produces for about one password in 65536 (the third
/// DES key is the last two hash octets followed by five zero octets, so a hash ending in 00 00 gives the all-zero key).
/// </remarks>
public static class MsChapV2
{
    /// <summary>The Authenticator-Challenge and Peer-Challenge length (RFC 2759 §3, §4).</summary>
    public const int ChallengeLength = 16;

    /// <summary>The length of PasswordHash and PasswordHashHash (MD4 outputs).</summary>
    public const int PasswordHashLength = 16;

    /// <summary>The length of the 8-octet challenge ChallengeHash produces (RFC 2759 §8.2).</summary>
    public const int ChallengeHashLength = 8;

    /// <summary>The NT-Response length (RFC 2759 §4).</summary>
    public const int NtResponseLength = 24;

    /// <summary>The authenticator response length before it is written as 40 hex digits (RFC 2759 §5).</summary>
    public const int AuthenticatorResponseLength = 20;

    /// <summary>The MasterKey length (RFC 3079 §3.4: the first 16 octets of the SHA-1 digest).</summary>
    public const int MasterKeyLength = 16;

    /// <summary>The length of each start key in the MSK (RFC 3079 §3.4 with 128-bit keys).</summary>
    public const int StartKeyLength = 16;

    /// <summary>The MSK length (RFC 3748 §7.10: at least 64 octets).</summary>
    public const int MskLength = 64;

    // RFC 2759 §8.7.
    private static ReadOnlySpan<byte> AuthenticatorMagic1 => "Magic server to client signing constant"u8;

    private static ReadOnlySpan<byte> AuthenticatorMagic2 => "Pad to make it do more than one iteration"u8;

    // RFC 3079 §3.4: Magic1, Magic2 and Magic3 of GetMasterKey and GetAsymmetricStartKey.
    private static ReadOnlySpan<byte> MasterKeyMagic => "This is the MPPE Master Key"u8;

    private static ReadOnlySpan<byte> ClientSendMagic =>
        "On the client side, this is the send key; on the server side, it is the receive key."u8;

    private static ReadOnlySpan<byte> ClientReceiveMagic =>
        "On the client side, this is the receive key; on the server side, it is the send key."u8;

    /// <summary>
    /// RFC 2759 §8.3 NtPasswordHash: MD4 over the password in UTF-16LE. The password is given in UTF-8, as
    /// swanctl's secrets hold it; ill-formed UTF-8 is decoded with U+FFFD replacements (strongSwan drops such
    /// sequences instead, so only passwords that are not valid UTF-8 hash differently).
    /// </summary>
    public static void NtPasswordHash(ReadOnlySpan<byte> utf8Password, Span<byte> passwordHash)
    {
        RequireLength(passwordHash, PasswordHashLength, nameof(passwordHash));
        var chars = new char[Encoding.UTF8.GetCharCount(utf8Password)];
        var unicode = new byte[chars.Length * 2];
        try
        {
            Encoding.UTF8.GetChars(utf8Password, chars);
            Encoding.Unicode.GetBytes(chars, unicode);
            Md4(unicode, passwordHash);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(MemoryMarshal.AsBytes(chars.AsSpan()));
            CryptographicOperations.ZeroMemory(unicode);
        }
    }

    /// <summary>RFC 2759 §8.4 HashNtPasswordHash: MD4 of the password hash.</summary>
    public static void HashNtPasswordHash(ReadOnlySpan<byte> passwordHash, Span<byte> passwordHashHash)
    {
        RequireLength(passwordHash, PasswordHashLength, nameof(passwordHash));
        RequireLength(passwordHashHash, PasswordHashLength, nameof(passwordHashHash));
        Md4(passwordHash, passwordHashHash);
    }

    /// <summary>
    /// RFC 2759 §8.2 ChallengeHash: the first 8 octets of SHA-1(PeerChallenge | AuthenticatorChallenge | UserName).
    /// <paramref name="userName"/> is the name without a <c>DOMAIN\</c> prefix (§4; see <see cref="WithoutDomain"/>).
    /// </summary>
    public static void ChallengeHash(
        ReadOnlySpan<byte> peerChallenge, ReadOnlySpan<byte> authenticatorChallenge, ReadOnlySpan<byte> userName, Span<byte> challenge)
    {
        RequireLength(peerChallenge, ChallengeLength, nameof(peerChallenge));
        RequireLength(authenticatorChallenge, ChallengeLength, nameof(authenticatorChallenge));
        RequireLength(challenge, ChallengeHashLength, nameof(challenge));
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(peerChallenge);
        sha1.AppendData(authenticatorChallenge);
        sha1.AppendData(userName);
        Span<byte> digest = stackalloc byte[20];
        sha1.GetHashAndReset(digest);
        digest[..ChallengeHashLength].CopyTo(challenge);
    }

    /// <summary>
    /// RFC 2759 §8.5 ChallengeResponse: the password hash, zero-padded to 21 octets, gives three DES keys of 7 octets;
    /// each encrypts the 8-octet challenge (§8.6 DesEncrypt) and the three blocks make the 24-octet response.
    /// </summary>
    public static void ChallengeResponse(ReadOnlySpan<byte> challenge, ReadOnlySpan<byte> passwordHash, Span<byte> response)
    {
        RequireLength(challenge, ChallengeHashLength, nameof(challenge));
        RequireLength(passwordHash, PasswordHashLength, nameof(passwordHash));
        RequireLength(response, NtResponseLength, nameof(response));
        Span<byte> zPasswordHash = stackalloc byte[21];
        zPasswordHash.Clear();
        passwordHash.CopyTo(zPasswordHash);
        try
        {
            for (var i = 0; i < 3; i++)
            {
                DesEncrypt(challenge, zPasswordHash.Slice(i * 7, 7), response.Slice(i * 8, 8));
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(zPasswordHash);
        }
    }

    /// <summary>RFC 2759 §8.1 GenerateNTResponse, from the password hash (§8.3) rather than the password.</summary>
    public static void GenerateNtResponse(
        ReadOnlySpan<byte> authenticatorChallenge,
        ReadOnlySpan<byte> peerChallenge,
        ReadOnlySpan<byte> userName,
        ReadOnlySpan<byte> passwordHash,
        Span<byte> response)
    {
        Span<byte> challenge = stackalloc byte[ChallengeHashLength];
        ChallengeHash(peerChallenge, authenticatorChallenge, userName, challenge);
        ChallengeResponse(challenge, passwordHash, response);
    }

    /// <summary>
    /// RFC 2759 §8.7 GenerateAuthenticatorResponse, as 20 octets (the Success packet carries them as "S=" and 40
    /// uppercase hex digits): SHA-1(SHA-1(PasswordHashHash | NT-Response | Magic1) | ChallengeHash | Magic2).
    /// </summary>
    public static void GenerateAuthenticatorResponse(
        ReadOnlySpan<byte> passwordHash, ReadOnlySpan<byte> ntResponse, ReadOnlySpan<byte> peerChallenge, ReadOnlySpan<byte> authenticatorChallenge,
        ReadOnlySpan<byte> userName, Span<byte> authenticatorResponse)
    {
        RequireLength(ntResponse, NtResponseLength, nameof(ntResponse));
        RequireLength(authenticatorResponse, AuthenticatorResponseLength, nameof(authenticatorResponse));
        Span<byte> passwordHashHash = stackalloc byte[PasswordHashLength];
        Span<byte> digest = stackalloc byte[20];
        Span<byte> challenge = stackalloc byte[ChallengeHashLength];
        try
        {
            HashNtPasswordHash(passwordHash, passwordHashHash);
            using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            sha1.AppendData(passwordHashHash);
            sha1.AppendData(ntResponse);
            sha1.AppendData(AuthenticatorMagic1);
            sha1.GetHashAndReset(digest);
            ChallengeHash(peerChallenge, authenticatorChallenge, userName, challenge);
            sha1.AppendData(digest);
            sha1.AppendData(challenge);
            sha1.AppendData(AuthenticatorMagic2);
            sha1.GetHashAndReset(authenticatorResponse);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passwordHashHash);
            CryptographicOperations.ZeroMemory(digest);
        }
    }

    /// <summary>RFC 3079 §3.4 GetMasterKey: the first 16 octets of SHA-1(PasswordHashHash | NT-Response | Magic1).</summary>
    public static void GetMasterKey(ReadOnlySpan<byte> passwordHashHash, ReadOnlySpan<byte> ntResponse, Span<byte> masterKey)
    {
        RequireLength(passwordHashHash, PasswordHashLength, nameof(passwordHashHash));
        RequireLength(ntResponse, NtResponseLength, nameof(ntResponse));
        RequireLength(masterKey, MasterKeyLength, nameof(masterKey));
        Span<byte> digest = stackalloc byte[20];
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(passwordHashHash);
        sha1.AppendData(ntResponse);
        sha1.AppendData(MasterKeyMagic);
        sha1.GetHashAndReset(digest);
        digest[..MasterKeyLength].CopyTo(masterKey);
        CryptographicOperations.ZeroMemory(digest);
    }

    /// <summary>
    /// RFC 3079 §3.4 GetAsymmetricStartKey: the first <c>sessionKey.Length</c> (at most 20) octets of
    /// SHA-1(MasterKey | SHSpad1 | s | SHSpad2), where s is Magic2 for the client's send key (the server's receive key)
    /// and Magic3 for the client's receive key (the server's send key).
    /// </summary>
    public static void GetAsymmetricStartKey(ReadOnlySpan<byte> masterKey, Span<byte> sessionKey, bool isSend, bool isServer)
    {
        RequireLength(masterKey, MasterKeyLength, nameof(masterKey));
        if (sessionKey.Length is 0 or > 20)
        {
            throw new ArgumentException("a start key is 1 to 20 octets long", nameof(sessionKey));
        }

        var magic = isSend == isServer ? ClientReceiveMagic : ClientSendMagic;
        Span<byte> shsPad1 = stackalloc byte[40];
        Span<byte> shsPad2 = stackalloc byte[40];
        shsPad1.Clear();
        shsPad2.Fill(0xF2);
        Span<byte> digest = stackalloc byte[20];
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(masterKey);
        sha1.AppendData(shsPad1);
        sha1.AppendData(magic);
        sha1.AppendData(shsPad2);
        sha1.GetHashAndReset(digest);
        digest[..sessionKey.Length].CopyTo(sessionKey);
        CryptographicOperations.ZeroMemory(digest);
    }

    /// <summary>
    /// The EAP-MSCHAPv2 MSK as strongSwan's eap_mschapv2.c builds it (and so as the IKE AUTH payload of an
    /// EAP-authenticated SA needs it): the server's receive start key, then the server's send start key (RFC 3079
    /// §3.4, 16 octets each), then 32 zero octets, 64 octets in all. The peer's send key is the server's receive key,
    /// so both sides get the same bytes.
    /// </summary>
    public static byte[] DeriveMsk(ReadOnlySpan<byte> passwordHash, ReadOnlySpan<byte> ntResponse, bool isServer)
    {
        Span<byte> passwordHashHash = stackalloc byte[PasswordHashLength];
        Span<byte> masterKey = stackalloc byte[MasterKeyLength];
        var msk = new byte[MskLength];
        try
        {
            HashNtPasswordHash(passwordHash, passwordHashHash);
            GetMasterKey(passwordHashHash, ntResponse, masterKey);

            // The server's receive key is the peer's send key; the server's send key is the peer's receive key.
            GetAsymmetricStartKey(masterKey, msk.AsSpan(0, StartKeyLength), isSend: !isServer, isServer);
            GetAsymmetricStartKey(masterKey, msk.AsSpan(StartKeyLength, StartKeyLength), isSend: isServer, isServer);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passwordHashHash);
            CryptographicOperations.ZeroMemory(masterKey);
        }

        return msk;
    }

    /// <summary>
    /// The user name without a Windows NT domain prefix (RFC 2759 §4: "BIGCO\johndoe" is hashed as "johndoe"): what
    /// follows the first backslash, or the whole name without one, as strongSwan strips it.
    /// </summary>
    public static ReadOnlySpan<byte> WithoutDomain(ReadOnlySpan<byte> name)
    {
        var backslash = name.IndexOf((byte)'\\');
        return backslash < 0 ? name : name[(backslash + 1)..];
    }

    /// <summary>
    /// RFC 2759 §8.6 DesEncrypt with a 7-octet key, expanded to a DES key with odd parity bits (§9.3 shows the
    /// expansion). BouncyCastle's engine takes weak keys, which the zero padding of §8.5 can produce.
    /// </summary>
    private static void DesEncrypt(ReadOnlySpan<byte> clear, ReadOnlySpan<byte> key7, Span<byte> cypher)
    {
        var key = new byte[8];
        try
        {
            ExpandDesKey(key7, key);
            var des = new DesEngine();
            des.Init(true, new KeyParameter(key));
            des.ProcessBlock(clear, cypher);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Spreads 56 key bits over 8 octets (7 bits each, high bits first) and sets each low bit to odd parity.</summary>
    internal static void ExpandDesKey(ReadOnlySpan<byte> key7, Span<byte> key8)
    {
        ulong bits = 0;
        for (var i = 0; i < 7; i++)
        {
            bits = (bits << 8) | key7[i];
        }

        for (var i = 0; i < 8; i++)
        {
            var septet = (byte)((bits >> (49 - (7 * i))) & 0x7F);
            var value = (byte)(septet << 1);
            key8[i] = (byte)(value | ((System.Numerics.BitOperations.PopCount(value) & 1) ^ 1));
        }
    }

    private static void Md4(ReadOnlySpan<byte> data, Span<byte> output)
    {
        var md4 = new MD4Digest();
        md4.BlockUpdate(data);
        md4.DoFinal(output);
    }

    private static void RequireLength(ReadOnlySpan<byte> value, int length, string name)
    {
        if (value.Length != length)
        {
            throw new ArgumentException($"{name} must be {length} octets long", name);
        }
    }
}
