namespace Oakley.Config.Import;

/// <summary>
/// Values the converter passes on as they are (selectors, pool addresses) are checked with the loader's own parsers:
/// a subnet or address that neither starter nor Oakley could read is an error in the input (file:line), not
/// something to write and be refused later, nor to drop and leave traffic unprotected.
/// </summary>
internal static class ImportChecks
{
    public static void Selectors(ConnContext ctx, IpsecSetting source, string key, string value)
    {
        var probe = new SettingsSection(ctx.Name, source.Location);
        probe.Values.Add(new SettingsValue(key, value, source.Location));
        try
        {
            SwanctlValues.Selectors(probe, key);
        }
        catch (ConfigException e)
        {
            throw new ConfigException(source.Location, $"conn {ctx.Conn.Name}: {source.Key}={ConnContext.Short(source.Value)}: {e.Reason}");
        }
    }

    public static void Pool(ConnContext ctx, IpsecSetting source, SwanctlNode pool)
    {
        var pools = new SettingsSection("pools", source.Location);
        var section = new SettingsSection(pool.Name, source.Location);
        foreach (var key in new[] { "addrs", "dns" })
        {
            if (pool.Get(key) is { } value)
            {
                section.Values.Add(new SettingsValue(key, value, source.Location));
            }
        }

        pools.Sections.Add(section);
        try
        {
            SwanctlPools.Load(pools);
        }
        catch (ConfigException e)
        {
            throw new ConfigException(source.Location, $"conn {ctx.Conn.Name}: {source.Key}={ConnContext.Short(source.Value)}: {e.Reason}");
        }
    }
}
