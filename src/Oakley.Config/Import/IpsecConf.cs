namespace Oakley.Config.Import;

/// <summary>One <c>key=value</c> line of an ipsec.conf section.</summary>
public sealed record IpsecSetting(string Key, string Value, SourceLocation Location);

/// <summary>A section of ipsec.conf: <c>config setup</c>, <c>conn NAME</c> or <c>ca NAME</c>, with its settings in file order.</summary>
public sealed class IpsecSection(string kind, string name, SourceLocation location)
{
    /// <summary><c>config</c>, <c>conn</c> or <c>ca</c>.</summary>
    public string Kind { get; } = kind;

    public string Name { get; } = name;

    public SourceLocation Location { get; } = location;

    public List<IpsecSetting> Settings { get; } = [];
}

/// <summary>A parsed ipsec.conf (with its includes spliced in, as starter reads them).</summary>
public sealed class IpsecConf
{
    /// <summary>Every <c>config setup</c> section's settings (starter merges them).</summary>
    public List<IpsecSetting> Setup { get; } = [];

    /// <summary>The <c>conn</c> sections in file order, <c>%default</c> included.</summary>
    public List<IpsecSection> Conns { get; } = [];

    /// <summary>The <c>ca</c> sections in file order.</summary>
    public List<IpsecSection> Cas { get; } = [];

    /// <summary>
    /// Whether the file reads like Libreswan's (its own keywords: <c>phase2alg</c>, <c>ikev2=</c>, <c>protostack</c>, …).
    /// The two dialects differ in a few defaults: Libreswan's <c>ike=</c> replaces its defaults, strongSwan's adds
    /// them unless the list ends in <c>!</c>; Libreswan runs DPD once <c>dpddelay</c> is set.
    /// </summary>
    public bool IsLibreswan { get; internal set; }
}
