using System.Security.Cryptography;
using Oakley.Crypto.Prf;
using Oakley.Crypto.Signature;
using Oakley.Engine.Authentication;
using Oakley.Protocol.Ikev2;
using Oakley.Protocol.Ikev2.Payloads;
using Oakley.Tests.Shared;

namespace Oakley.Engine.Tests;

/// <summary>
/// The signature authenticator on its own (it is not yet chosen by IKE_AUTH's task: issue 15 wires it to
/// certificates and keys): both ends of an AUTH payload for every key type and method, and the refusals by name.
/// </summary>
public class SignatureAuthenticatorTests
{
    private static readonly SignatureHash[] AllHashes = [SignatureHash.Sha256, SignatureHash.Sha384, SignatureHash.Sha512, SignatureHash.Identity];

    private static AuthInput Input(int seed)
    {
        var octets = new byte[200];
        new Random(seed).NextBytes(octets);
        return new AuthInput(HmacPrf.Sha256, octets);
    }

    public static TheoryData<string, string?, AuthMethod> Cases() => new()
    {
        { "rsa", "rsa-pss-sha256", AuthMethod.DigitalSignature },
        { "p256", "ecdsa-sha256", AuthMethod.DigitalSignature },
        { "p384", "ecdsa-sha384", AuthMethod.DigitalSignature },
        { "ed25519", "ed25519", AuthMethod.DigitalSignature },
        { "ed448", "ed448", AuthMethod.DigitalSignature },
        { "p256", null, AuthMethod.EcdsaSha256P256 },
        { "p384", null, AuthMethod.EcdsaSha384P384 },
        { "p521", null, AuthMethod.EcdsaSha512P521 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void AuthBuiltByOneEnd_VerifiesAtTheOther_AndNotWhenChanged(string keyName, string? expectedScheme, AuthMethod method)
    {
        var (key, pub) = Key(keyName);
        var hashes = method == AuthMethod.DigitalSignature ? AllHashes : null;
        var signer = (SignatureAuthenticator)SignatureAuthenticator.Create(key, null, SignatureSchemes.Default, hashes).Authenticator!;
        var verifier = (SignatureAuthenticator)SignatureAuthenticator.Create(null, pub, SignatureSchemes.Default, null).Authenticator!;
        Assert.Equal(method, signer.Method);
        if (expectedScheme is not null)
        {
            Assert.Equal(expectedScheme, signer.Scheme!.Name);
        }

        var auth = signer.Build(Input(1));
        Assert.Equal(method, auth.Method);
        Assert.Null(verifier.Check(Input(1), auth));
        Assert.Contains("does not verify", verifier.Check(Input(2), auth));
        var bent = auth.Data.ToArray();
        bent[^3] ^= 0x10;
        Assert.False(verifier.Verify(Input(1), new AuthenticationPayload(method, bent)));
    }

    [Fact]
    public void PeerHashes_ChooseTheScheme_AndNoCommonHashIsAnError()
    {
        var (key, _) = Key("rsa");
        var result = SignatureAuthenticator.Create(key, null, SignatureSchemes.Default, [SignatureHash.Sha512]);
        Assert.Equal("rsa-pss-sha512", ((SignatureAuthenticator)result.Authenticator!).Scheme!.Name);
        var none = SignatureAuthenticator.Create(key, null, SignatureSchemes.Default, [SignatureHash.Sha1]);
        Assert.Null(none.Authenticator);
        Assert.Contains("no acceptable signature scheme for our RSA-2048 key", none.Error);
    }

    [Fact]
    public void Rsa_WithoutPeerHashes_NeedsSha1Configured()
    {
        var (key, pub) = Key("rsa");
        var refused = SignatureAuthenticator.Create(key, null, SignatureSchemes.Default, null);
        Assert.Contains("rsa-pkcs1-sha1 (AUTH method 1), which is not acceptable", refused.Error);
        var withSha1 = SignatureSchemes.All;
        var signer = SignatureAuthenticator.Create(key, null, withSha1, null).Authenticator!;
        var auth = signer.Build(Input(3));
        Assert.Equal(AuthMethod.RsaDigitalSignature, auth.Method);
        Assert.True(SignatureAuthenticator.Create(null, pub, withSha1, null).Authenticator!.Verify(Input(3), auth));
        var strict = (SignatureAuthenticator)SignatureAuthenticator.Create(null, pub, SignatureSchemes.Default, null).Authenticator!;
        Assert.StartsWith("signature scheme rsa-pkcs1-sha1 not acceptable (allowed: rsa-pss-sha256, ", strict.Check(Input(3), auth));
    }

    [Fact]
    public void WrongKeyOrCurve_IsNamed()
    {
        var (p256, _) = Key("p256");
        var (_, p384pub) = Key("p384");
        var (_, rsaPub) = Key("rsa");
        var auth = SignatureAuthenticator.Create(p256, null, SignatureSchemes.Default, null).Authenticator!.Build(Input(4));
        var onP384 = (SignatureAuthenticator)SignatureAuthenticator.Create(null, p384pub, SignatureSchemes.Default, null).Authenticator!;
        Assert.Equal("AUTH method EcdsaSha256P256 needs an ECDSA P-256 key; the peer's key is ECDSA P-384", onP384.Check(Input(4), auth));
        var ds = SignatureAuthenticator.Create(p256, null, SignatureSchemes.Default, AllHashes).Authenticator!.Build(Input(4));
        var onRsa = (SignatureAuthenticator)SignatureAuthenticator.Create(null, rsaPub, SignatureSchemes.Default, null).Authenticator!;
        Assert.Equal("signature scheme ecdsa-sha256 does not fit the peer's RSA-2048 key", onRsa.Check(Input(4), ds));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 40, 0x30, 0x05 })]
    [InlineData(new byte[] { 3, 0x30, 0x01, 0x06 })]
    [InlineData(new byte[] { 2, 0x30, 0x00, 1, 2, 3 })]
    public void MalformedMethod14Data_IsRefusedWithAReason(byte[] data)
    {
        var (_, pub) = Key("p256");
        var verifier = (SignatureAuthenticator)SignatureAuthenticator.Create(null, pub, SignatureSchemes.Default, null).Authenticator!;
        var why = verifier.Check(Input(5), new AuthenticationPayload(AuthMethod.DigitalSignature, data));
        Assert.False(string.IsNullOrEmpty(why));
    }

    [Fact]
    public void NoKeyAtAll_IsAMissingCredential_AndSharedKeyAuthIsNotASignature()
    {
        Assert.Equal("no private key and no peer public key to authenticate with", SignatureAuthenticator.Create(null, null, SignatureSchemes.Default, null).Error);
        var (_, pub) = Key("p256");
        var verifier = (SignatureAuthenticator)SignatureAuthenticator.Create(null, pub, SignatureSchemes.Default, null).Authenticator!;
        Assert.Equal("AUTH method SharedKeyMessageIntegrityCode is not a signature method",
            verifier.Check(Input(6), new AuthenticationPayload(AuthMethod.SharedKeyMessageIntegrityCode, new byte[32])));
    }

    private static (SignaturePrivateKey Key, SignaturePublicKey Public) Key(string name)
    {
        byte[] pkcs8;
        switch (name)
        {
            case "rsa":
                using (var rsa = RSA.Create(2048))
                {
                    pkcs8 = rsa.ExportPkcs8PrivateKey();
                }

                break;
            case "ed25519":
            case "ed448":
                pkcs8 = EdPkcs8(name == "ed448");
                break;
            default:
                var curve = name switch { "p256" => ECCurve.NamedCurves.nistP256, "p384" => ECCurve.NamedCurves.nistP384, _ => ECCurve.NamedCurves.nistP521 };
                using (var ec = ECDsa.Create(curve))
                {
                    pkcs8 = ec.ExportPkcs8PrivateKey();
                }

                break;
        }

        var key = SignaturePrivateKey.FromPkcs8(pkcs8, out var why) ?? throw new InvalidOperationException(why);
        var pub = SignaturePublicKey.FromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out why) ?? throw new InvalidOperationException(why);
        return (key, pub);
    }

    private static byte[] EdPkcs8(bool ed448)
    {
        var seed = new byte[ed448 ? 57 : 32];
        new Random(ed448 ? 448 : 25519).NextBytes(seed);
        return EdDsaTestKeys.Pkcs8(seed, ed448);
    }
}

public class SignatureHashNotifyTests
{
    [Fact]
    public void PeerHashes_AreReadFromTheNotify_UnknownDuplicateAndOddOctetsIgnored()
    {
        var none = new IkeMessage();
        Assert.Null(Oakley.Engine.Tasks.IkeInitTask.PeerHashes(none));
        var m = new IkeMessage();
        m.Payloads.Add(new NotifyPayload(Oakley.Iana.NotifyType.SignatureHashAlgorithms, new byte[] { 0, 2, 0, 5, 0, 9, 0, 2, 7 }));
        Assert.Equal([SignatureHash.Sha256, SignatureHash.Identity], Oakley.Engine.Tasks.IkeInitTask.PeerHashes(m));
        var empty = new IkeMessage();
        empty.Payloads.Add(new NotifyPayload(Oakley.Iana.NotifyType.SignatureHashAlgorithms, Array.Empty<byte>()));
        Assert.Empty(Oakley.Engine.Tasks.IkeInitTask.PeerHashes(empty)!);
    }
}
