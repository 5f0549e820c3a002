using Microsoft.Extensions.Logging;
using Oakley.Config;
using Oakley.Engine.Eap;

namespace Oakley.Host.Radius;

/// <summary>
/// The <see cref="IEapAaa"/> for <c>remote.auth = eap-radius</c>: one <see cref="EapRadiusAuthenticator"/> per IKE
/// SA, sharing one <see cref="RadiusClient"/>. <paramref name="resume"/> is called (on a thread-pool thread) with the
/// IKE SA's ID when an answer for it is in; the host must then run <c>Endpoint.Resume(now, id)</c> on the engine thread.
/// </summary>
public sealed class EapRadiusAaa(RadiusSettings settings, RadiusClient client, Action<long> resume, ILogger log, RadiusAccounting? accounting = null) : IEapAaa
{
    internal RadiusSettings Settings { get; } = settings;

    internal RadiusClient Client { get; } = client;

    internal ILogger Log { get; } = log;

    internal RadiusAccounting? Accounting { get; } = accounting;

    internal void Resume(long ikeSaId) => resume(ikeSaId);

    public IEapAuthenticator? Create(EapContext context, out string? error)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!Settings.Enabled)
        {
            error = "no RADIUS server is configured (charon.plugins.eap-radius)";
            return null;
        }

        error = null;
        return new EapRadiusAuthenticator(context, this);
    }
}
