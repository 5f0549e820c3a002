using System.Globalization;
using System.Net;
using Oakley.Crypto.Registry;
using Oakley.Engine;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Config;

/// <summary>Parsers for swanctl.conf values (times, volumes, addresses, proposals, selectors, identities); errors carry file:line.</summary>
internal static class SwanctlValues
{
    internal static Identity ParseId(SettingsValue v)
    {
        try
        {
            return Identity.Parse(v.Value);
        }
        catch (FormatException e)
        {
            throw new ConfigException(v.Location, $"invalid identity '{v.Value}': {e.Message}");
        }
    }

    internal static List<IPAddress> Addresses(SettingsSection s, string key)
    {
        var v = s.Value(key);
        if (v is null)
        {
            return [];
        }

        var list = new List<IPAddress>();
        foreach (var part in v.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part is "%any" or "%any4" or "%any6")
            {
                return [];
            }

            if (!IPAddress.TryParse(part, out var a))
            {
                throw new ConfigException(v.Location, $"'{part}' in {key} is not an IP address (host names and ranges are not supported yet)");
            }

            list.Add(a);
        }

        return list;
    }

    internal static List<AlgorithmProposal> Proposals(SettingsSection s, string key, ProtocolId protocol)
    {
        var v = s.Value(key);
        try
        {
            return ProposalString.ParseList(v?.Value ?? "default", protocol);
        }
        catch (ProposalParseException e)
        {
            throw new ConfigException(v!.Location, $"{key}: {e.Message}");
        }
    }

    internal static (List<TrafficSelectorRange> Ranges, bool Dynamic) Selectors(SettingsSection s, string key)
    {
        var v = s.Value(key);
        if (v is null)
        {
            return ([], true); // swanctl default: dynamic
        }

        var ranges = new List<TrafficSelectorRange>();
        var dynamic = false;
        foreach (var part in v.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "dynamic")
            {
                dynamic = true;
                continue;
            }

            try
            {
                ranges.Add(TrafficSelectorRange.Parse(part));
            }
            catch (Exception e) when (e is FormatException or OverflowException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                throw new ConfigException(v.Location, $"invalid traffic selector '{part}' in {key}");
            }
        }

        return (ranges, dynamic);
    }

    /// <summary>strongSwan time values: plain seconds or a number with s, m, h or d.</summary>
    internal static TimeSpan Duration(SettingsSection s, string key, TimeSpan fallback)
    {
        var v = s.Value(key);
        if (v is null)
        {
            return fallback;
        }

        var text = v.Value.Trim();
        var unit = text.Length > 0 && char.IsLetter(text[^1]) ? text[^1] : 's';
        var number = char.IsLetter(unit) && text.Length > 0 && char.IsLetter(text[^1]) ? text[..^1] : text;
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0)
        {
            throw new ConfigException(v.Location, $"{key} = '{v.Value}' is not a time (use e.g. 30s, 10m, 4h, 1d)");
        }

        return unit switch
        {
            's' => TimeSpan.FromSeconds(n),
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => throw new ConfigException(v.Location, $"{key}: unknown time unit '{unit}' (s, m, h or d)"),
        };
    }

    /// <summary>A byte or packet count as swanctl writes it: an integer with an optional k, m or g (binary) suffix.</summary>
    internal static ulong Volume(SettingsSection s, string key, ulong fallback)
    {
        var v = s.Value(key);
        if (v is null)
        {
            return fallback;
        }

        var text = v.Value.Trim();
        var multiplier = text.Length > 0 ? char.ToLowerInvariant(text[^1]) switch { 'k' => 1UL << 10, 'm' => 1UL << 20, 'g' => 1UL << 30, _ => 1UL } : 1UL;
        var digits = multiplier == 1 ? text : text[..^1];
        if (!ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > ulong.MaxValue / multiplier)
        {
            throw new ConfigException(v.Location, $"{key} = '{v.Value}' is not a count (use e.g. 1000000, 500m, 2g)");
        }

        return n * multiplier;
    }

    internal static int Int(SettingsSection s, string key, int fallback, int min, int max)
    {
        var v = s.Value(key);
        if (v is null)
        {
            return fallback;
        }

        if (!int.TryParse(v.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            throw new ConfigException(v.Location, $"{key} = '{v.Value}' must be an integer from {min} to {max}");
        }

        return n;
    }

    internal static string Enum(SettingsSection s, string key, string fallback, params string[] allowed)
    {
        var v = s.Value(key);
        if (v is null)
        {
            return fallback;
        }

        return allowed.Contains(v.Value) ? v.Value : throw new ConfigException(v.Location, $"{key} = '{v.Value}' must be one of: {string.Join(", ", allowed)}");
    }

    internal static ChildAction Action(SettingsSection s, string key, ChildAction fallback, params ChildAction[] allowed)
    {
        var v = s.Value(key);
        if (v is null)
        {
            return fallback;
        }

        var parsed = v.Value switch
        {
            "none" => ChildAction.None,
            "start" => ChildAction.Start,
            "trap" => ChildAction.Trap,
            "clear" => ChildAction.Clear,
            "restart" => ChildAction.Restart,
            _ => (ChildAction?)null,
        };
        if (parsed is not { } a || !allowed.Contains(a))
        {
            throw new ConfigException(v.Location, $"{key} = '{v.Value}' must be one of: {string.Join(", ", allowed.Distinct().Select(x => x.ToString().ToLowerInvariant()))}");
        }

        return a;
    }
}
