using System.Globalization;
using Oakley.Engine;
using Oakley.Engine.Eap;

namespace Oakley.Config.Credentials;

/// <summary>
/// An EAP round (RFC 7296 §2.16): strongSwan's <c>auth = eap[-&lt;method&gt;]</c> as vici's parse_auth and
/// eap_vendor_type_from_string read it: <c>eap</c> (the server proposes, the client takes what it is asked), a method
/// by name (<c>md5</c>, <c>mschapv2</c>, <c>gtc</c>, <c>tls</c>, <c>ttls</c>, <c>peap</c>, and strongSwan's
/// <c>otp</c>, <c>sim</c>, <c>aka</c>, <c>tnc</c>, <c>pt</c>) or number (<c>eap-26</c>), and on a remote round
/// <c>eap-radius</c> (relay to RADIUS) or <c>eap-dynamic</c> (the client may Nak). Methods the engine has no
/// implementation of load; the engine refuses them when an exchange needs one. <c>eap_id</c> is the EAP identity.
/// </summary>
internal static class SwanctlEap
{
    private static readonly Dictionary<string, EapType> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["md5"] = EapType.Md5, ["gtc"] = EapType.Gtc, ["tls"] = EapType.Tls, ["ttls"] = EapType.Ttls, ["peap"] = EapType.Peap,
        ["mschapv2"] = EapType.MsChapV2, ["otp"] = (EapType)5, ["sim"] = (EapType)18, ["aka"] = (EapType)23, ["tnc"] = (EapType)38,
        ["pt"] = (EapType)54,
    };

    public static bool IsEap(SettingsValue? auth) => auth is not null && auth.Value.Trim().StartsWith("eap", StringComparison.OrdinalIgnoreCase);

    public static AuthConfig Round(SettingsSection round, SettingsValue auth, bool local)
    {
        var text = auth.Value.Trim();
        if (text.Contains(':', StringComparison.Ordinal))
        {
            throw new ConfigException(auth.Location, $"'{auth.Key} = {auth.Value}': public key constraints on EAP rounds ('eap-tls:...') are not supported yet");
        }

        var parts = text.Split('-');
        if (!parts[0].Equals("eap", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException(auth.Location, $"invalid value for '{auth.Key}': '{auth.Value}' (eap or eap-<method>)");
        }

        if (parts.Length > 2)
        {
            throw new ConfigException(auth.Location, $"'{auth.Key} = {auth.Value}': vendor-specific EAP methods are not supported yet");
        }

        var method = parts.Length == 2 ? parts[1] : string.Empty;
        var radius = method.Equals("radius", StringComparison.OrdinalIgnoreCase);
        var dynamic = method.Equals("dynamic", StringComparison.OrdinalIgnoreCase);
        if (local && (radius || dynamic))
        {
            throw new ConfigException(auth.Location, $"'{auth.Key} = {auth.Value}' is for remote rounds only (a gateway {(radius ? "relays the client's EAP to RADIUS" : "lets the client choose the method")}); a local round uses eap or eap-<method>");
        }

        return new AuthConfig
        {
            Class = AuthClass.Eap,
            EapMethod = method.Length == 0 || radius || dynamic ? null : Method(auth, method),
            EapRadius = radius,
            EapDynamic = dynamic,
            EapId = EapId(round, local),
        };
    }

    private static EapType Method(SettingsValue auth, string method)
    {
        if (Names.TryGetValue(method, out var named))
        {
            return named;
        }

        // strongSwan's strtoul(part, &end, 0): decimal, 0x hex, or a leading 0 for octal; we take decimal and 0x.
        var hex = method.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        if (!byte.TryParse(hex ? method[2..] : method, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            throw new ConfigException(auth.Location, $"invalid value for '{auth.Key}': '{auth.Value}' (unknown EAP method '{method}': md5, mschapv2, gtc, tls, ttls, peap, radius, dynamic or a method number)");
        }

        // RFC 3748 §5: 1-3 are Identity, Notification and Nak, not methods; 254 and 255 are the expanded and experimental types.
        if (n is 0 or 1 or 2 or 3 or 254 or 255)
        {
            throw new ConfigException(auth.Location, $"invalid value for '{auth.Key}': '{auth.Value}' (EAP type {n} is not an authentication method)");
        }

        return (EapType)n;
    }

    private static Identity? EapId(SettingsSection round, bool local)
    {
        if (round.Value("eap_id") is not { } v)
        {
            return null; // our IKE identity (local) or the client's (remote)
        }

        if (local && v.Value.Trim() == "%any")
        {
            throw new ConfigException(v.Location, "'eap_id = %any' is for remote rounds (ask the client with EAP-Identity); a local round's eap_id is the identity we authenticate as");
        }

        return SwanctlValues.ParseId(v);
    }
}
