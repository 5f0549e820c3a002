using System.Globalization;
using Oakley.Engine;
using Oakley.Iana;

namespace Oakley.Host.Vici;

/// <summary>
/// IKE and CHILD SAs as charon's vici plugin describes them (<c>vici_query.c</c> list_ike / list_child, README
/// "list-sa"): the same keys, in the same order, with the same value formats (decimal numbers, 16/8 hex digit SPIs,
/// strongSwan's algorithm names, flags present only as <c>yes</c>), so that swanctl prints Oakley's SAs as it prints
/// charon's. Runs on the engine thread (it reads the live <see cref="IkeSa"/>).
/// </summary>
internal static class ViciSaViews
{
    /// <summary>The IKE SA's keys (without child-sas): list-sa, ike-updown, ike-rekey, child-updown.</summary>
    public static void AddIke(ViciSection b, IkeSa sa, DateTimeOffset now, bool superseded = false)
    {
        b.Add("uniqueid", Num(sa.Id));
        b.Add("version", "2");
        b.Add("state", superseded && sa.State == IkeSaState.Established ? "REKEYED" : StateName(sa.State));
        b.Add("local-host", sa.Local.Address.ToString());
        b.Add("local-port", Num(sa.Local.Port));
        b.Add("local-id", sa.Config.LocalId.ToString());
        b.Add("remote-host", sa.Remote.Address.ToString());
        b.Add("remote-port", Num(sa.Remote.Port));
        b.Add("remote-id", sa.RemoteIdentity?.ToString() ?? "%any");
        if (!sa.IsOriginalInitiator && sa.EapIdentity is { } eap && eap.ToString() != sa.RemoteIdentity?.ToString())
        {
            b.Add("remote-eap-id", eap.ToString());
        }

        if (sa.IsOriginalInitiator)
        {
            b.Add("initiator", "yes");
        }

        b.Add("initiator-spi", sa.SpiI.ToString("x16", CultureInfo.InvariantCulture));
        b.Add("responder-spi", sa.SpiR.ToString("x16", CultureInfo.InvariantCulture));
        Flag(b, "nat-local", sa.LocalBehindNat);
        Flag(b, "nat-remote", sa.RemoteBehindNat);
        Flag(b, "nat-any", sa.NatDetected);
        if (sa.Suite is { } suite)
        {
            b.Add("encr-alg", StatusViews.StrongSwanName(suite.Encryption.Id));
            if (suite.Encryption.KeyLengthBits > 0)
            {
                b.Add("encr-keysize", Num(suite.Encryption.KeyLengthBits));
            }

            if (suite.Integrity is { } integ)
            {
                b.Add("integ-alg", StatusViews.StrongSwanName(integ.Id));
            }

            if (suite.Prf is { } prf)
            {
                b.Add("prf-alg", PrfName(prf.Id));
            }

            if (suite.KeyExchange != KeId.None)
            {
                b.Add("dh-group", KeName(suite.KeyExchange));
            }
        }

        if (sa.State == IkeSaState.Established && sa.EstablishedAt is { } up)
        {
            b.Add("established", Seconds(now - up));
            if (sa.IkeRekeyAt != DateTimeOffset.MaxValue)
            {
                b.Add("rekey-time", Seconds(sa.IkeRekeyAt - now));
            }

            if (sa.ReauthAt != DateTimeOffset.MaxValue)
            {
                b.Add("reauth-time", Seconds(sa.ReauthAt - now));
            }
        }

        if (sa.LocalVirtualIps.Count > 0)
        {
            b.AddList("local-vips", sa.LocalVirtualIps.Select(a => a.ToString()));
        }

        if (sa.PeerVirtualIps is { Count: > 0 } vips)
        {
            b.AddList("remote-vips", vips.Select(a => a.ToString()));
        }
    }

    /// <summary>One <c>list-sa</c> event: <c>{ NAME { ...ike..., child-sas { NAME-ID { ... } } } }</c>.</summary>
    public static ViciSection ListSa(IkeSa sa, DateTimeOffset now, ChildSaTable children, DataPlaneInstaller installer, ViciChildIds ids, string? child = null, long? childId = null,
        bool superseded = false)
    {
        var message = new ViciSection();
        var ike = message.AddSection(sa.Config.Name);
        AddIke(ike, sa, now, superseded);
        var list = ike.AddSection("child-sas");
        foreach (var c in children.Of(sa))
        {
            if ((child is null || c.ChildName == child) && (childId is null || ids.Is(c.InboundSpi, childId.Value)))
            {
                AddChild(list.AddSection(ChildKey(c, ids)), c, sa, now, installer, ids);
            }
        }

        return message;
    }

    /// <summary>The section name of a CHILD SA in child-sas: charon's "name-uniqueid".</summary>
    public static string ChildKey(ChildSaInstall c, ViciChildIds ids) => $"{c.ChildName}-{ids.Of(c.InboundSpi)}";

    /// <summary>A CHILD SA's keys (list_child): state, mode, the IPsec parameters, counters and times, selectors.</summary>
    public static void AddChild(ViciSection b, ChildSaInstall c, IkeSa? sa, DateTimeOffset now, DataPlaneInstaller installer, ViciChildIds ids, string state = "INSTALLED")
    {
        b.Add("name", c.ChildName);
        b.Add("uniqueid", Num(ids.Of(c.InboundSpi)));
        b.Add("reqid", Num(ReqId(sa, c)));
        b.Add("state", state);
        b.Add("mode", c.TransportMode ? "TRANSPORT" : "TUNNEL");
        b.Add("protocol", "ESP");
        Flag(b, "encap", c.UdpEncapsulation);
        b.Add("spi-in", c.InboundSpi.ToString("x8", CultureInfo.InvariantCulture));
        b.Add("spi-out", c.OutboundSpi.ToString("x8", CultureInfo.InvariantCulture));
        b.Add("encr-alg", StatusViews.StrongSwanName(c.Encryption));
        if (c.EncryptionKeyBits > 0)
        {
            b.Add("encr-keysize", Num(c.EncryptionKeyBits));
        }

        if (c.Integrity != IntegId.None)
        {
            b.Add("integ-alg", StatusViews.StrongSwanName(c.Integrity));
        }

        if (sa?.Children.FirstOrDefault(h => h.InboundSpi == c.InboundSpi)?.Suite.KeyExchange is { } ke && ke != KeId.None)
        {
            b.Add("dh-group", KeName(ke)); // PFS
        }

        if (c.Esn)
        {
            b.Add("esn", "1");
        }

        var counters = installer.Counters(c.InboundSpi);
        b.Add("bytes-in", Num(counters?.BytesIn ?? 0));
        b.Add("packets-in", Num(counters?.PacketsIn ?? 0));
        b.Add("bytes-out", Num(counters?.BytesOut ?? 0));
        b.Add("packets-out", Num(counters?.PacketsOut ?? 0));
        b.Add("rekey-time", Seconds(c.Time + c.RekeyTime - now));
        b.Add("life-time", Seconds(c.Time + c.LifeTime - now));
        b.Add("install-time", Seconds(now - c.Time));
        b.AddList("local-ts", c.LocalTs.Select(t => t.ToString()));
        b.AddList("remote-ts", c.RemoteTs.Select(t => t.ToString()));
    }

    /// <summary>
    /// charon's reqid belongs to the policy and survives rekeys; Oakley's is the child configuration's position in its
    /// connection, plus one (the same for every CHILD SA of that child, 0 when the SA is gone).
    /// </summary>
    private static int ReqId(IkeSa? sa, ChildSaInstall c)
    {
        if (sa is null)
        {
            return 0;
        }

        for (var i = 0; i < sa.Config.Children.Count; i++)
        {
            if (sa.Config.Children[i].Name == c.ChildName)
            {
                return i + 1;
            }
        }

        return 0;
    }

    /// <summary>charon's ike_sa_state_names.</summary>
    public static string StateName(IkeSaState state) => state switch
    {
        IkeSaState.Created => "CREATED",
        IkeSaState.Connecting => "CONNECTING",
        IkeSaState.Established => "ESTABLISHED",
        IkeSaState.Deleting => "DELETING",
        _ => "DESTROYING",
    };

    /// <summary>strongSwan's pseudo_random_function_names.</summary>
    public static string PrfName(PrfId id) => id switch
    {
        PrfId.HmacMd5 => "PRF_HMAC_MD5",
        PrfId.HmacSha1 => "PRF_HMAC_SHA1",
        PrfId.Aes128Xcbc => "PRF_AES128_XCBC",
        PrfId.HmacSha2_256 => "PRF_HMAC_SHA2_256",
        PrfId.HmacSha2_384 => "PRF_HMAC_SHA2_384",
        PrfId.HmacSha2_512 => "PRF_HMAC_SHA2_512",
        PrfId.Aes128Cmac => "PRF_AES128_CMAC",
        _ => id.ToString(),
    };

    /// <summary>strongSwan's key_exchange_method_names (diffie_hellman_names in 5.9).</summary>
    public static string KeName(KeId id) => id switch
    {
        KeId.Modp768 => "MODP_768",
        KeId.Modp1024 => "MODP_1024",
        KeId.Modp1536 => "MODP_1536",
        KeId.Modp2048 => "MODP_2048",
        KeId.Modp3072 => "MODP_3072",
        KeId.Modp4096 => "MODP_4096",
        KeId.Modp6144 => "MODP_6144",
        KeId.Modp8192 => "MODP_8192",
        KeId.Ecp256 => "ECP_256",
        KeId.Ecp384 => "ECP_384",
        KeId.Ecp521 => "ECP_521",
        KeId.Modp1024s160 => "MODP_1024_160",
        KeId.Modp2048s224 => "MODP_2048_224",
        KeId.Modp2048s256 => "MODP_2048_256",
        KeId.Ecp192 => "ECP_192",
        KeId.Ecp224 => "ECP_224",
        KeId.Brainpool224 => "ECP_224_BP",
        KeId.Brainpool256 => "ECP_256_BP",
        KeId.Brainpool384 => "ECP_384_BP",
        KeId.Brainpool512 => "ECP_512_BP",
        KeId.Curve25519 => "CURVE_25519",
        KeId.Curve448 => "CURVE_448",
        KeId.MlKem512 => "ML_KEM_512",
        KeId.MlKem768 => "ML_KEM_768",
        KeId.MlKem1024 => "ML_KEM_1024",
        _ => id.ToString(),
    };

    public static string Num(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan t) => Num((long)t.TotalSeconds);

    private static void Flag(ViciSection b, string key, bool set)
    {
        if (set)
        {
            b.Add(key, "yes");
        }
    }
}
