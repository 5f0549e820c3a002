namespace Oakley.Config.Import;

/// <summary>The child's rekeying keys computed from the conn's lifetimes (written by <c>Child</c>).</summary>
internal sealed record ChildLifetimes(List<(string Key, string Value)> Entries);

internal static partial class ConnConverter
{
    private static readonly string[] IkeTimeKeys = ["ikelifetime", "margintime", "rekeymargin", "rekeyfuzz", "rekey", "reauth"];
    private static readonly string[] ChildTimeKeys = ["lifetime", "keylife", "salifetime", "margintime", "rekeymargin", "rekeyfuzz", "rekey", "lifebytes", "marginbytes", "lifepackets", "marginpackets"];

    /// <summary>
    /// starter states lifetimes as the hard end and a margin before it; swanctl states the rekey time. As charon's
    /// stroke plugin computes them: rekey (or, with <c>reauth=yes</c>, reauthentication) at ikelifetime − margintime,
    /// over_time = margintime, rand_time = margintime × rekeyfuzz; the child rekeys at lifetime − margintime and
    /// expires at lifetime. <c>rekey=no</c> sends no lifetimes at all: nothing is rekeyed and nothing expires.
    /// Libreswan rekeys (no reauthentication) with 8h lifetimes by default. Nothing is written when the conn sets
    /// none of these keywords: then swanctl's defaults apply, which the importer says once.
    /// </summary>
    private static void Lifetimes(ConnContext ctx, SwanctlNode node, out ChildLifetimes child)
    {
        child = new ChildLifetimes([]);
        var libreswan = ctx.File.IsLibreswan;
        var margin = ParseSeconds(ctx, ctx.GetAny("margintime", "rekeymargin"), 540);
        var fuzz = Percent(ctx, ctx.Get("rekeyfuzz"));
        var rekey = ctx.Get("rekey");
        var reauth = ctx.Get("reauth");
        var anyIke = IkeTimeKeys.Any(k => ctx.Conn[k] is not null);
        var anyChild = ChildTimeKeys.Any(k => ctx.Conn[k] is not null);
        if (!anyIke && !anyChild)
        {
            ctx.UsedDefaultLifetimes = true;
            return;
        }

        if (rekey is not null && !ConnContext.IsYes(rekey))
        {
            node.Set("rekey_time", "0");
            child.Entries.Add(("rekey_time", "0"));
            ctx.Note(rekey, "starter then sends no lifetimes: rekey_time = 0 for the IKE SA and the child (neither is rekeyed nor expires)");
            return;
        }

        if (anyIke)
        {
            var ikeLife = ParseSeconds(ctx, ctx.Get("ikelifetime"), libreswan ? 28800 : 10800);
            var reauthenticate = ConnContext.IsYes(reauth, fallback: !libreswan);
            node.Set(reauthenticate ? "reauth_time" : "rekey_time", FormatSeconds(Math.Max(0, ikeLife - margin)));
            if (reauthenticate)
            {
                node.Set("rekey_time", "0");
            }

            node.Set("over_time", FormatSeconds(margin));
            node.Set("rand_time", FormatSeconds(margin * fuzz / 100));
        }

        if (anyChild)
        {
            var life = ParseSeconds(ctx, ctx.GetAny("lifetime", "keylife", "salifetime"), libreswan ? 28800 : 3600);
            child.Entries.Add(("rekey_time", FormatSeconds(Math.Max(0, life - margin))));
            child.Entries.Add(("life_time", FormatSeconds(life)));
            child.Entries.Add(("rand_time", FormatSeconds(margin * fuzz / 100)));
            Volume(ctx, child, "lifebytes", "marginbytes", "bytes", fuzz);
            Volume(ctx, child, "lifepackets", "marginpackets", "packets", fuzz);
        }
    }

    private static void Volume(ConnContext ctx, ChildLifetimes child, string lifeKey, string marginKey, string unit, long fuzz)
    {
        var life = ctx.Get(lifeKey);
        var marginSetting = ctx.Get(marginKey);
        if (life is null)
        {
            if (marginSetting is not null)
            {
                ctx.Note(marginSetting, $"without {lifeKey} there is no volume limit: not converted");
            }

            return;
        }

        if (!long.TryParse(life.Value, out var total) || total < 0)
        {
            ctx.Note(life, "not a number: not converted");
            return;
        }

        var margin = marginSetting is not null && long.TryParse(marginSetting.Value, out var m) ? m : 0;
        child.Entries.Add(($"rekey_{unit}", (total - Math.Min(total, margin)).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        child.Entries.Add(($"life_{unit}", total.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (margin * fuzz / 100 > 0)
        {
            child.Entries.Add(($"rand_{unit}", (margin * fuzz / 100).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    private static long Percent(ConnContext ctx, IpsecSetting? setting)
    {
        if (setting is null)
        {
            return 100;
        }

        if (long.TryParse(setting.Value.TrimEnd('%'), out var percent) && percent >= 0)
        {
            return percent;
        }

        ctx.Note(setting, "not a percentage; 100% is used");
        return 100;
    }
}
