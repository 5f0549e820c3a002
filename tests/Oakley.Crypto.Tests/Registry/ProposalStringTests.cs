using Oakley.Crypto.Registry;
using Oakley.Iana;

namespace Oakley.Crypto.Tests.Registry;

public class ProposalStringTests
{
    [Theory]
    [InlineData("aes256gcm16-prfsha384-ecp384", ProtocolId.Ike, "aes256gcm16-prfsha384-ecp384")]
    [InlineData("aes128-sha256-modp2048", ProtocolId.Ike, "aes128-sha256-prfsha256-modp2048")]
    [InlineData("chacha20poly1305-prfsha256-x25519-ke1_mlkem768", ProtocolId.Ike, "chacha20poly1305-prfsha256-curve25519-ke1_mlkem768")]
    [InlineData("aes256-aes128-sha512-sha256-ecp521-ecp256", ProtocolId.Ike, "aes256-aes128-sha512-sha256-prfsha512-prfsha256-ecp521-ecp256")]
    [InlineData("aes128-aesxcbc-modp2048", ProtocolId.Ike, "aes128-aesxcbc-prfaesxcbc-modp2048")]
    [InlineData("3des-md5-modp1024", ProtocolId.Ike, "3des-md5-prfmd5-modp1024")]
    [InlineData("aes128-sha256-prfsha512-modp2048", ProtocolId.Ike, "aes128-sha256-prfsha512-modp2048")]
    [InlineData("aes128gcm16", ProtocolId.Esp, "aes128gcm16")]
    [InlineData("aes128gcm16-esn", ProtocolId.Esp, "aes128gcm16-esn")]
    [InlineData("aes128gcm16-esn-noesn", ProtocolId.Esp, "aes128gcm16-esn-noesn")]
    [InlineData("aes256-sha256-modp3072", ProtocolId.Esp, "aes256-sha256-modp3072")]
    [InlineData("null-sha256", ProtocolId.Esp, "null-sha256")]
    [InlineData("aes256gmac", ProtocolId.Esp, "aes256gmac")]
    [InlineData("sha256", ProtocolId.Ah, "sha256")]
    public void Parse_ThenFormat_GivesTheCanonicalForm(string text, ProtocolId protocol, string canonical)
    {
        var proposal = ProposalString.Parse(text, protocol);
        Assert.Equal(protocol, proposal.Protocol);
        Assert.Equal(canonical, ProposalString.Format(proposal));
        // and the canonical form is a fixed point
        Assert.Equal(canonical, ProposalString.Format(ProposalString.Parse(canonical, protocol)));
    }

    [Fact]
    public void Parse_ProducesTheIanaTransforms()
    {
        var p = ProposalString.Parse("aes256gcm16-prfsha384-ecp384", ProtocolId.Ike);
        Assert.Equal(
            [TransformSpec.Encr(EncrId.AesGcm16, 256), TransformSpec.Prf(PrfId.HmacSha2_384), TransformSpec.Ke(KeId.Ecp384)],
            p.Transforms);
        Assert.True(p.IsAead);

        var esp = ProposalString.Parse("aes128-sha256", ProtocolId.Esp);
        Assert.Contains(TransformSpec.Esn(EsnId.NoEsn), esp.Transforms);
        Assert.DoesNotContain(esp.Transforms, t => t.Type == TransformType.PseudoRandomFunction);

        var hybrid = ProposalString.Parse("aes256gcm16-prfsha256-x25519-ke1_mlkem768-ke2_mlkem1024", ProtocolId.Ike);
        Assert.Contains(new TransformSpec(TransformType.AdditionalKeyExchange1, (ushort)KeId.MlKem768), hybrid.Transforms);
        Assert.Contains(new TransformSpec(TransformType.AdditionalKeyExchange2, (ushort)KeId.MlKem1024), hybrid.Transforms);
    }

    [Fact]
    public void ParseList_ExpandsDefault_AndSplitsOnCommas()
    {
        var list = ProposalString.ParseList("aes128-sha256-modp2048, default", ProtocolId.Ike);
        Assert.True(list.Count >= 3);
        Assert.Equal("aes128-sha256-prfsha256-modp2048", list[0].ToString());
        Assert.All(ProposalString.ParseList("default", ProtocolId.Esp), p => Assert.Equal(ProtocolId.Esp, p.Protocol));
        Assert.Equal("aes128gcm16-aes256gcm16-chacha20poly1305,aes128-aes192-aes256-sha256-sha384-sha512",
            ProposalString.FormatList(ProposalString.ParseList("default", ProtocolId.Esp)));
    }

    [Theory]
    [InlineData("aes256gcm16-ecp384", ProtocolId.Ike, "PRF algorithm is mandatory")]
    [InlineData("aes128-modp2048", ProtocolId.Ike, "needs an integrity algorithm")]
    [InlineData("aes128-sha256", ProtocolId.Ike, "needs a key exchange method")]
    [InlineData("aes128gcm16-aes128-sha256-prfsha256-modp2048", ProtocolId.Ike, "mixes AEAD and non-AEAD")]
    [InlineData("aes128gcm16-sha256-prfsha256-ecp256", ProtocolId.Ike, "combines an AEAD algorithm with an integrity algorithm")]
    [InlineData("aes128-sha256-modp2048-esn", ProtocolId.Ike, "belong in ESP/AH proposals")]
    [InlineData("null-sha256-modp2048", ProtocolId.Ike, "cannot be used in Ike proposals")]
    [InlineData("aes128-sha256-prfsha256", ProtocolId.Esp, "a PRF belongs in IKE proposals only")]
    [InlineData("aes128-sha257-modp2048", ProtocolId.Ike, "unknown algorithm 'sha257'")]
    [InlineData("aes128--sha256", ProtocolId.Esp, "empty keyword")]
    [InlineData("sha256-modp2048", ProtocolId.Ike, "has no encryption algorithm")]
    [InlineData("aes128-sha256", ProtocolId.Ah, "cannot contain encryption algorithms")]
    [InlineData("aes128gcm16-ke1_sha256-prfsha256-x25519", ProtocolId.Ike, "only key exchange methods")]
    public void Parse_RejectsInvalidProposals_WithAClearMessage(string text, ProtocolId protocol, string message)
    {
        var ex = Assert.Throws<ProposalParseException>(() => ProposalString.Parse(text, protocol));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Equal(text, ex.Proposal);
    }

    [Fact]
    public void UnknownKeyword_ReportsItsPosition()
    {
        var ex = Assert.Throws<ProposalParseException>(() => ProposalString.Parse("aes128-sha257-modp2048", ProtocolId.Ike));
        Assert.Equal("sha257", ex.Token);
        Assert.Equal(7, ex.Position);
    }

    [Fact]
    public void EmptyListEntry_IsAnError() =>
        Assert.Throws<ProposalParseException>(() => ProposalString.ParseList("aes128-sha256-modp2048,,default", ProtocolId.Ike));
}
