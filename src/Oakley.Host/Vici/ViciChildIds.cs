using Oakley.Engine;

namespace Oakley.Host.Vici;

/// <summary>
/// CHILD SA unique IDs as charon numbers them: 1, 2, 3, ... in the order the CHILD SAs were installed, a new one after
/// each rekey (swanctl prints them as <c>net: #3</c> and terminate/rekey take them as <c>child-id</c>). The engine
/// names CHILD SAs by their inbound SPI only, so this maps one to the other. Engine thread only (the events and the
/// commands' <see cref="IkeHost.Invoke{T}"/> work items), so no lock.
/// </summary>
internal sealed class ViciChildIds
{
    private readonly Dictionary<uint, uint> _bySpi = [];
    private uint _next = 1;

    public void Installed(ChildSaInstall c)
    {
        if (!_bySpi.ContainsKey(c.InboundSpi))
        {
            _bySpi[c.InboundSpi] = _next++;
        }
    }

    public void Removed(uint inboundSpi) => _bySpi.Remove(inboundSpi);

    /// <summary>The unique ID of the CHILD SA with this inbound SPI (0 if it is not known).</summary>
    public uint Of(uint inboundSpi) => _bySpi.GetValueOrDefault(inboundSpi);

    /// <summary>Whether the CHILD SA with this inbound SPI has the unique ID <paramref name="id"/>.</summary>
    public bool Is(uint inboundSpi, long id) => Of(inboundSpi) == id;
}
