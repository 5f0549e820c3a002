using System.Globalization;
using System.Text.Json.Nodes;
using Oakley.Config;
using Oakley.Engine;
using Oakley.Esp;
using Oakley.Iana;

namespace Oakley.Host;

/// <summary>
/// The JSON the control socket answers <c>list-sas</c>, <c>list-conns</c> and <c>stats</c> with (the stable
/// format of docs/cli.md), built from the engine's SAs, the daemon's CHILD SA table, the configuration and the
/// data plane's counters. <see cref="ListSas"/> and <see cref="Stats"/> run on the engine thread.
/// </summary>
internal static class StatusViews
{
    /// <summary>
    /// The list-sas entries of <paramref name="count"/> SAs of <paramref name="sas"/> from <paramref name="first"/>,
    /// as JSON text joined by commas (empty when none): one page of a streamed listing.
    /// </summary>
    public static string ListSasPage(IReadOnlyList<IkeSa> sas, int first, int count, DateTimeOffset now, ChildSaTable children, DataPlaneInstaller installer)
    {
        var sb = new System.Text.StringBuilder();
        for (var i = first; i < Math.Min(sas.Count, first + count); i++)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(SaJson(sas[i], now, children, installer).ToJsonString());
        }

        return sb.ToString();
    }

    public static JsonObject SaJson(IkeSa sa, DateTimeOffset now, ChildSaTable children, DataPlaneInstaller installer)
    {
        var held = children.Of(sa);
        return new JsonObject
        {
            ["name"] = sa.Config.Name,
            ["uniqueid"] = sa.Id,
            ["state"] = sa.State.ToString().ToUpperInvariant(),
            ["local-host"] = sa.Local.Address.ToString(),
            ["local-port"] = sa.Local.Port,
            ["local-id"] = sa.Config.LocalId.ToString(),
            ["remote-host"] = sa.Remote.Address.ToString(),
            ["remote-port"] = sa.Remote.Port,
            ["remote-id"] = sa.RemoteIdentity?.ToString(),
            // swanctl's names: the EAP identity, and the virtual IPs of each side
            ["remote-eap-id"] = sa.IsOriginalInitiator ? null : sa.EapIdentity?.ToString(),
            ["local-vips"] = new JsonArray(sa.LocalVirtualIps.Select(a => (JsonNode)a.ToString()).ToArray()),
            ["remote-vips"] = new JsonArray((sa.PeerVirtualIps ?? []).Select(a => (JsonNode)a.ToString()).ToArray()),
            ["initiator"] = sa.IsOriginalInitiator,
            ["nat-local"] = sa.LocalBehindNat,
            ["nat-remote"] = sa.RemoteBehindNat,
            ["encap"] = sa.UdpEncapsulation,
            ["mobike"] = sa.MobikeNegotiated,
            ["initiator-spi"] = sa.SpiI.ToString("x16", CultureInfo.InvariantCulture),
            ["responder-spi"] = sa.SpiR.ToString("x16", CultureInfo.InvariantCulture),
            ["proposal"] = sa.Suite?.ToString(),
            ["established"] = sa.EstablishedAt is { } t ? (long)(now - t).TotalSeconds : null,
            // The engine's schedule, not the configuration's: jitter, and a reload that changed the times (IkeSa.Adopt).
            ["rekey-time"] = sa.EstablishedAt is null ? null : Until(sa.IkeRekeyAt, now),
            ["reauth-time"] = sa.EstablishedAt is null ? null : Until(sa.ReauthAt, now),
            ["child-sas"] = new JsonArray(held.Select(c => (JsonNode)ChildJson(c, now, installer, sa.Children.FirstOrDefault(x => x.InboundSpi == c.InboundSpi))).ToArray()),
        };
    }

    /// <summary>Seconds from <paramref name="now"/> until <paramref name="at"/> (at least 0), or null when it never comes.</summary>
    private static long? Until(DateTimeOffset at, DateTimeOffset now) => at == DateTimeOffset.MaxValue ? null : Math.Max(0, (long)(at - now).TotalSeconds);

    private static JsonObject ChildJson(ChildSaInstall c, DateTimeOffset now, DataPlaneInstaller installer, ChildSa? live)
    {
        var counters = installer.Counters(c.InboundSpi);
        return new JsonObject
        {
            ["name"] = c.ChildName,
            ["mode"] = c.TransportMode ? "TRANSPORT" : "TUNNEL",
            ["protocol"] = "ESP",
            ["encap"] = c.UdpEncapsulation,
            ["spi-in"] = c.InboundSpi.ToString("x8", CultureInfo.InvariantCulture),
            ["spi-out"] = c.OutboundSpi.ToString("x8", CultureInfo.InvariantCulture),
            ["encr-alg"] = StrongSwanName(c.Encryption),
            ["encr-keysize"] = c.EncryptionKeyBits,
            ["integ-alg"] = c.Integrity == IntegId.None ? null : StrongSwanName(c.Integrity),
            ["esn"] = c.Esn,
            ["install-time"] = (long)(now - c.Time).TotalSeconds,
            ["rekey-time"] = live is null ? (long)(c.Time + c.RekeyTime - now).TotalSeconds : Until(live.RekeyAt, now),
            ["life-time"] = live is null ? (long)(c.Time + c.LifeTime - now).TotalSeconds : Until(live.ExpireAt, now),
            ["local-ts"] = new JsonArray(c.LocalTs.Select(t => (JsonNode)t.ToString()).ToArray()),
            ["remote-ts"] = new JsonArray(c.RemoteTs.Select(t => (JsonNode)t.ToString()).ToArray()),
            ["bytes-in"] = counters?.BytesIn ?? 0,
            ["packets-in"] = counters?.PacketsIn ?? 0,
            ["bytes-out"] = counters?.BytesOut ?? 0,
            ["packets-out"] = counters?.PacketsOut ?? 0,
            ["replay-highest"] = counters?.ReplayTop ?? 0,
        };
    }

    /// <summary>The algorithm names swanctl --list-sas prints, so that both daemons' listings read alike.</summary>
    public static string StrongSwanName(EncrId id) => id switch
    {
        EncrId.AesCbc => "AES_CBC",
        EncrId.AesCtr => "AES_CTR",
        EncrId.AesGcm8 => "AES_GCM_8",
        EncrId.AesGcm12 => "AES_GCM_12",
        EncrId.AesGcm16 => "AES_GCM_16",
        EncrId.AesCcm8 => "AES_CCM_8",
        EncrId.AesCcm12 => "AES_CCM_12",
        EncrId.AesCcm16 => "AES_CCM_16",
        EncrId.ChaCha20Poly1305 => "CHACHA20_POLY1305",
        EncrId.TripleDes => "3DES_CBC",
        EncrId.NullAuthAesGmac => "NULL_AES_GMAC",
        EncrId.Null => "NULL",
        _ => id.ToString(),
    };

    public static string StrongSwanName(IntegId id) => id switch
    {
        IntegId.HmacMd5_96 => "HMAC_MD5_96",
        IntegId.HmacSha1_96 => "HMAC_SHA1_96",
        IntegId.AesXcbc96 => "AES_XCBC_96",
        IntegId.AesCmac96 => "AES_CMAC_96",
        IntegId.HmacSha2_256_128 => "HMAC_SHA2_256_128",
        IntegId.HmacSha2_384_192 => "HMAC_SHA2_384_192",
        IntegId.HmacSha2_512_256 => "HMAC_SHA2_512_256",
        _ => id.ToString(),
    };

    public static JsonObject ListConns(SwanctlConfig config) => new()
    {
        ["ok"] = true,
        ["connections"] = new JsonArray(config.Connections.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Ike.Name,
            ["version"] = c.Version == 0 ? "IKEv1/2" : "IKEv2",
            ["local-addrs"] = new JsonArray(c.Ike.LocalAddresses.Select(a => (JsonNode)a.ToString()).ToArray()),
            ["remote-addrs"] = new JsonArray(c.Ike.RemoteAddresses.Select(a => (JsonNode)a.ToString()).ToArray()),
            ["proposals"] = Crypto.Registry.ProposalString.FormatList(c.Ike.Proposals),
            ["local-id"] = c.Ike.LocalId.ToString(),
            ["remote-id"] = c.Ike.RemoteId?.ToString() ?? "%any",
            ["local-auth"] = Auth(c.Ike.LocalAuth),
            ["remote-auth"] = Auth(c.Ike.RemoteAuth),
            // RFC 4739's later rounds (local-2, remote-2, ...), and the virtual IPs asked for or handed out
            ["local-auth-more"] = new JsonArray(c.Ike.MoreLocalAuth.Select(a => (JsonNode)Auth(a)).ToArray()),
            ["remote-auth-more"] = new JsonArray(c.Ike.MoreRemoteAuth.Select(a => (JsonNode)Auth(a)).ToArray()),
            ["vips"] = new JsonArray(c.Ike.Vips.Select(v => (JsonNode)v.ToString()).ToArray()),
            ["pools"] = new JsonArray(c.Ike.Pools.Select(p => (JsonNode)p).ToArray()),
            ["children"] = new JsonArray(c.Ike.Children.Select(ch => (JsonNode)new JsonObject
            {
                ["name"] = ch.Name,
                ["mode"] = ch.TransportMode ? "TRANSPORT" : "TUNNEL",
                ["local-ts"] = new JsonArray(ch.LocalTs.Select(t => (JsonNode)t.ToString()).Concat(ch.LocalTsDynamic ? [(JsonNode)"dynamic"] : []).ToArray()),
                ["remote-ts"] = new JsonArray(ch.RemoteTs.Select(t => (JsonNode)t.ToString()).Concat(ch.RemoteTsDynamic ? [(JsonNode)"dynamic"] : []).ToArray()),
                ["esp-proposals"] = Crypto.Registry.ProposalString.FormatList(ch.EspProposals),
                ["start-action"] = c.ChildPolicies[ch.Name].StartAction.ToString().ToLowerInvariant(),
            }).ToArray()),
        }).ToArray()),
    };

    /// <summary>One authentication round: its class and, for pubkey, the certificates, CAs and raw keys it names.</summary>
    private static JsonObject Auth(AuthConfig auth) => new()
    {
        // swanctl --list-conns' words: "pre-shared key", "public key", "EAP (eap-mschapv2)"
        ["class"] = auth.Class switch
        {
            AuthClass.Psk => "pre-shared key",
            AuthClass.PublicKey => "public key",
            _ => $"EAP ({(auth.EapRadius ? "eap-radius" : auth.EapDynamic ? "eap-dynamic" : auth.EapMethod is { } m ? "eap-" + m.ToString().ToLowerInvariant() : "eap")})",
        },
        ["eap_id"] = auth.EapId?.ToString(),
        ["certs"] = new JsonArray(auth.Certificates.Select(c => (JsonNode)c.SubjectText).ToArray()),
        ["cacerts"] = new JsonArray(auth.CaCertificates.Select(c => (JsonNode)c.SubjectText).ToArray()),
        ["pubkeys"] = new JsonArray(auth.PublicKeys.Select(k => (JsonNode)$"{k.KeyType} {k.KeySize} bits").ToArray()),
    };

    public static JsonObject Stats(Endpoint e, EspDataPlane plane, EspDataPath? dataPath, DataPlaneInstaller installer, long logLinesSuppressed) => new()
    {
        ["esp-drops"] = new JsonObject
        {
            ["no-policy"] = plane.Counters.NoPolicy,
            ["malformed"] = plane.Counters.Malformed,
            ["unknown-spi"] = plane.Counters.UnknownSpi,
            ["replay"] = plane.Counters.Replay,
            ["bad-icv"] = plane.Counters.BadIcv,
            ["bad-padding"] = plane.Counters.BadPadding,
            ["dummy"] = plane.Counters.Dummy,
            ["policy-mismatch"] = plane.Counters.PolicyMismatch,
            ["sequence-exhausted"] = plane.Counters.SequenceExhausted,
            ["sa-gone"] = plane.Counters.SaGone,
            ["acquire-queue-full"] = dataPath?.AcquireDrops ?? 0,
            ["no-socket"] = dataPath?.NoSocketDrops ?? 0,
        },
        ["acquires"] = plane.Counters.Acquires,
        ["ok"] = true,
        ["ike-sas"] = e.IkeSas.Count,
        ["child-sas"] = e.ChildSaCount,
        ["sad-inbound"] = installer.Databases.InboundCount,
        ["spd-policies"] = installer.Databases.PolicyCount,
        ["half-open"] = e.HalfOpenCount,
        ["established-total"] = e.Stats.IkeSasEstablished,
        ["datagrams-in"] = e.Stats.DatagramsReceived,
        ["datagrams-out"] = e.Stats.DatagramsSent,
        ["half-open-peak"] = e.Stats.HalfOpenPeak,
        ["half-open-sources"] = e.HalfOpenSources,
        ["cookies-sent"] = e.Stats.CookiesSent,
        ["timer-failures"] = e.Stats.TimerFailures,
        ["cookies-accepted"] = e.Stats.CookiesAccepted,
        ["cookies-rejected"] = e.Stats.CookiesRejected,
        ["cookie-secret-rotations"] = e.Stats.CookieSecretRotations,
        ["init-blocked-per-ip"] = e.Stats.InitBlockedPerIp,
        ["init-dropped-half-open-limit"] = e.Stats.InitDroppedHalfOpenLimit,
        ["invalid-ke-sent"] = e.Stats.InvalidKeSent,
        ["no-proposal-chosen-sent"] = e.Stats.NoProposalChosenSent,
        ["fragments-sent"] = e.Stats.FragmentsSent,
        ["fragments-received"] = e.Stats.FragmentsReceived,
        ["messages-reassembled"] = e.Stats.MessagesReassembled,
        ["keepalives-sent"] = e.Stats.KeepalivesSent,
        ["payload-rule-violations"] = e.Stats.PayloadRuleViolations,
        ["log-lines-suppressed"] = logLinesSuppressed,
        ["gc-pause-ms"] = (long)GC.GetTotalPauseDuration().TotalMilliseconds,
        ["gc-full-collections"] = GC.CollectionCount(2),
        ["dropped"] = new JsonObject(e.Stats.Dropped.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))),
    };
}
