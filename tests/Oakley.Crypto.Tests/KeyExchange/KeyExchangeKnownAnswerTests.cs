using Oakley.Crypto.KeyExchange;
using Oakley.Iana;
using static Oakley.Crypto.Tests.VectorFile;

namespace Oakley.Crypto.Tests.KeyExchange;

public class KeyExchangeKnownAnswerTests
{
    public static TheoryData<string, int> Rfc5114 => Rows("rfc5114.json");
    public static TheoryData<string, int> Rfc5903 => Rows("rfc5903.json");
    public static TheoryData<string, int> Rfc7748 => Rows("rfc7748.json");

    private static Oakley.Crypto.KeyExchange.KeyExchange FromPrivate(KeId id, byte[] key) => id switch
    {
        KeId.Modp1024s160 or KeId.Modp2048s224 or KeId.Modp2048s256 => ModpKeyExchange.FromPrivateKey(id, key),
        KeId.Curve25519 => X25519KeyExchange.FromPrivateKey(key),
        _ => EcpKeyExchange.FromPrivateKey(id, key),
    };

    [Theory]
    [MemberData(nameof(Rfc5114))]
    public void Rfc5114_Groups(string file, int index)
    {
        var v = Get(file, index);
        var id = (KeId)ushort.Parse(v["dh_group"], System.Globalization.CultureInfo.InvariantCulture);
        byte[] privI, privR;
        if (v.TryGetValue("private_i", out var pi))
        {
            privI = Hex(pi);
            privR = Hex(v["private_r"]);
        }
        else
        {
            // The MODP vectors give xA ‖ yB; both exponents have the subgroup order's length.
            var both = Hex(v["private_i_concat_private_r"]);
            privI = both[..(both.Length / 2)];
            privR = both[(both.Length / 2)..];
        }

        AssertAgreement(id, privI, privR, v["pub_i"], v["pub_r"], v["shared"]);
    }

    [Theory]
    [MemberData(nameof(Rfc5903))]
    public void Rfc5903_EcpGroups(string file, int index)
    {
        var v = Get(file, index);
        var id = (KeId)ushort.Parse(v["dh_group"], System.Globalization.CultureInfo.InvariantCulture);
        AssertAgreement(id, Hex(v["i"]), Hex(v["r"]), v["gix"] + v["giy"], v["grx"] + v["gry"], v["ikev2_shared_secret"]);
        // The KE payload bytes of RFC 5903 §8: generic header, group, reserved, x ‖ y.
        using var ke = FromPrivate(id, Hex(v["i"]));
        var pub = ke.GetPublicKey();
        var payload = new byte[8 + pub.Length];
        payload[2] = (byte)(payload.Length >> 8);
        payload[3] = (byte)payload.Length;
        payload[5] = (byte)id;
        pub.CopyTo(payload, 8);
        Assert.Equal(v["ke_payload_initiator"], Of(payload));
    }

    [Fact]
    public void Rfc8031_Curve25519()
    {
        var v = Get("rfc8031.json", 0);
        AssertAgreement(KeId.Curve25519, Hex(v["initiator_private"]), Hex(v["responder_private"]), v["initiator_public"], v["responder_public"], v["shared_secret"]);
    }

    [Theory]
    [MemberData(nameof(Rfc7748))]
    public void Rfc7748_Functions(string file, int index)
    {
        var v = Get(file, index);
        var x448 = v["function"] == "X448";
        if (v.ContainsKey("alice_private"))
        {
            // RFC 7748 §6: the Diffie-Hellman examples, through the key-exchange classes.
            using Oakley.Crypto.KeyExchange.KeyExchange alice = x448 ? X448KeyExchange.FromPrivateKey(Hex(v["alice_private"])) : X25519KeyExchange.FromPrivateKey(Hex(v["alice_private"]));
            using Oakley.Crypto.KeyExchange.KeyExchange bob = x448 ? X448KeyExchange.FromPrivateKey(Hex(v["bob_private"])) : X25519KeyExchange.FromPrivateKey(Hex(v["bob_private"]));
            Assert.Equal(v["alice_public"], Of(alice.GetPublicKey()));
            Assert.Equal(v["bob_public"], Of(bob.GetPublicKey()));
            alice.SetPeerPublicKey(Hex(v["bob_public"]));
            bob.SetPeerPublicKey(Hex(v["alice_public"]));
            Assert.Equal(v["shared"], Of(alice.GetSharedSecret()));
            Assert.Equal(v["shared"], Of(bob.GetSharedSecret()));
            return;
        }

        if (v.ContainsKey("start"))
        {
            // RFC 7748 §5.2 iteration: k = u = start; repeatedly (k, u) = (X(k, u), k).
            var k = Hex(v["start"]);
            var u = Hex(v["start"]);
            var r = new byte[k.Length];
            for (var i = 1; i <= 1000; i++)
            {
                Assert.True(x448 ? X448KeyExchange.ScalarMult(k, u, r) : X25519KeyExchange.ScalarMult(k, u, r));
                u = k;
                k = (byte[])r.Clone();
                if (i == 1)
                {
                    Assert.Equal(v["after_1"], Of(k));
                }
            }

            Assert.Equal(v["after_1000"], Of(k));
            return;
        }

        var output = new byte[v["out"].Length / 2];
        var ok = v["function"] == "X25519"
            ? X25519KeyExchange.ScalarMult(Hex(v["scalar"]), Hex(v["u"]), output)
            : X448KeyExchange.ScalarMult(Hex(v["scalar"]), Hex(v["u"]), output);
        Assert.True(ok);
        Assert.Equal(v["out"], Of(output));
    }

    private static void AssertAgreement(KeId id, byte[] privI, byte[] privR, string pubI, string pubR, string shared)
    {
        using var i = FromPrivate(id, privI);
        using var r = FromPrivate(id, privR);
        Assert.Equal(pubI, Of(i.GetPublicKey()));
        Assert.Equal(pubR, Of(r.GetPublicKey()));
        i.SetPeerPublicKey(Hex(pubR));
        r.SetPeerPublicKey(Hex(pubI));
        Assert.Equal(shared, Of(i.GetSharedSecret()));
        Assert.Equal(shared, Of(r.GetSharedSecret()));
    }
}
