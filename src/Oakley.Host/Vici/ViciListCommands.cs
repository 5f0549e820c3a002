using Oakley.Config;
using Oakley.Engine;

namespace Oakley.Host.Vici;

/// <summary>
/// The VICI listings (README: list-sas, list-policies, list-conns, list-certs, list-authorities, get-algorithms):
/// each streams one event per item (list-sa, list-policy, list-conn, list-cert, list-authority) and then answers with
/// an empty message, as charon's vici_query.c does. list-sas takes a snapshot of the SAs and builds
/// <see cref="ControlCommands.ListPage"/> of them per turn of the engine thread, so a long listing never holds it.
/// </summary>
internal sealed class ViciListCommands(Daemon daemon, ViciChildIds ids)
{
    public void Register(ViciCommands commands, ViciServer server)
    {
        foreach (var e in new[] { "list-sa", "list-policy", "list-conn", "list-cert", "list-authority" })
        {
            server.AddEvent(e);
        }

        commands.Add("list-sas", ListSasAsync);
        commands.Add("list-policies", ListPoliciesAsync);
        commands.Add("list-conns", ListConnsAsync);
        commands.Add("list-certs", ListCertsAsync);
        commands.Add("list-authorities", ListAuthoritiesAsync);
        commands.Add("get-algorithms", (_, _) => Task.FromResult(ViciAlgorithms.Describe()));
    }

    private async Task<ViciSection> ListSasAsync(ViciSection request, ViciCall call)
    {
        var ike = request.Text("ike");
        var ikeId = ViciControlCommands.Int(request, "ike-id");
        var child = request.Text("child");
        var childId = ViciControlCommands.Int(request, "child-id");
        var host = daemon.Host;
        var sas = await host.Invoke((e, _) => e.IkeSas.Where(s => (ike is null || s.Config.Name == ike) && (ikeId is null || s.Id == ikeId)).ToArray()).ConfigureAwait(false);
        // An IKE SA rekeyed away (waiting for its DELETE) shares its unique ID with its successor, which the table
        // holds after it: the earlier ones are listed as charon lists them, REKEYED.
        var superseded = sas.GroupBy(s => s.Id).Where(g => g.Count() > 1).SelectMany(g => g.SkipLast(1)).ToHashSet();
        for (var start = 0; start < sas.Length && call.IsRegistered("list-sa"); start += ControlCommands.ListPage)
        {
            var first = start;
            var page = await host.Invoke((_, now) => sas.Skip(first).Take(ControlCommands.ListPage).Where(s => s.State != IkeSaState.Destroyed)
                .Select(s => ViciSaViews.ListSa(s, now, daemon.Children, daemon.Installer, ids, child, childId, superseded.Contains(s))).ToList()).ConfigureAwait(false);
            foreach (var message in page)
            {
                await call.EmitAsync("list-sa", message).ConfigureAwait(false);
            }
        }

        return new ViciSection();
    }

    /// <summary>Installed trap policies (Oakley has no drop or pass policies), as raise_policy_cfg describes them.</summary>
    private async Task<ViciSection> ListPoliciesAsync(ViciSection request, ViciCall call)
    {
        var wantTrap = request.Text("trap") is not null || (request.Text("drop") is null && request.Text("pass") is null);
        var ike = request.Text("ike");
        var child = request.Text("child");
        var traps = await daemon.Host.Invoke((_, _) => daemon.Installer.Traps.Select(t => (Ike: t.Connection ?? string.Empty, Child: t.Name)).Distinct().ToList()).ConfigureAwait(false);
        foreach (var (trapIke, trapChild) in traps.Where(t => wantTrap && (ike is null || t.Ike == ike) && (child is null || t.Child == child)))
        {
            var cfg = daemon.Config.Connections.FirstOrDefault(c => c.Ike.Name == trapIke)?.Ike.Children.FirstOrDefault(c => c.Name == trapChild);
            var message = new ViciSection();
            var s = message.AddSection($"{trapIke}/{trapChild}").Add("child", trapChild).Add("ike", trapIke);
            s.Add("mode", cfg?.TransportMode == true ? "TRANSPORT" : "TUNNEL");
            s.AddList("local-ts", cfg is null ? Array.Empty<string>() : Selectors(cfg.LocalTs, cfg.LocalTsDynamic));
            s.AddList("remote-ts", cfg is null ? Array.Empty<string>() : Selectors(cfg.RemoteTs, cfg.RemoteTsDynamic));
            await call.EmitAsync("list-policy", message).ConfigureAwait(false);
        }

        return new ViciSection();
    }

    private static IEnumerable<string> Selectors(IEnumerable<TrafficSelectorRange> ts, bool dynamic) =>
        ts.Select(t => t.ToString()).Concat(dynamic ? ["dynamic"] : []);

    private async Task<ViciSection> ListConnsAsync(ViciSection request, ViciCall call)
    {
        var ike = request.Text("ike");
        foreach (var conn in daemon.Config.Connections.Where(c => ike is null || c.Ike.Name == ike))
        {
            await call.EmitAsync("list-conn", ViciConnViews.ListConn(conn)).ConfigureAwait(false);
        }

        return new ViciSection();
    }

    /// <summary>list-cert events: type, flag, has_privkey and the DER data (swanctl parses and prints the certificate itself).</summary>
    private async Task<ViciSection> ListCertsAsync(ViciSection request, ViciCall call)
    {
        var type = request.Text("type");
        var flag = request.Text("flag");
        var subject = request.Text("subject");
        if (type is not (null or "ANY" or "X509"))
        {
            return new ViciSection(); // Oakley holds X.509 certificates only (no attribute certificates, CRLs, OCSP responses or raw keys)
        }

        var config = daemon.Config;
        var store = config.Secrets.Certificates;
        var all = store.Authorities.Concat(store.EndEntities)
            .Concat(config.Connections.SelectMany(c => c.Ike.LocalAuth.Certificates.Concat(c.Ike.RemoteAuth.Certificates).Concat(c.Ike.RemoteAuth.CaCertificates)))
            .DistinctBy(c => c.Fingerprint);
        foreach (var cert in all)
        {
            var certFlag = cert.IsCa ? "CA" : "NONE";
            if ((flag is not (null or "ANY") && flag != certFlag) || (subject is not null && cert.SubjectText != subject))
            {
                continue;
            }

            var message = new ViciSection().Add("type", "X509").Add("flag", certFlag);
            if (config.Secrets.FindPrivateKey(cert.PublicKey.SubjectPublicKeyInfo.Span) is not null)
            {
                message.Add("has_privkey", "yes");
            }

            await call.EmitAsync("list-cert", message.Add("data", cert.Der)).ConfigureAwait(false);
        }

        return new ViciSection();
    }

    private async Task<ViciSection> ListAuthoritiesAsync(ViciSection request, ViciCall call)
    {
        var name = request.Text("name");
        var config = daemon.Config;
        foreach (var a in config.Credentials.NamedAuthorities.Where(a => name is null || a.Name == name))
        {
            var (crl, ocsp) = config.Credentials.AuthorityUris.TryGetValue(a.Certificate.Fingerprint, out var uris) ? uris : ([], []);
            var message = new ViciSection();
            message.AddSection(a.Name).Add("cacert", a.Certificate.SubjectText).AddList("crl_uris", crl).AddList("ocsp_uris", ocsp);
            await call.EmitAsync("list-authority", message).ConfigureAwait(false);
        }

        return new ViciSection();
    }
}
