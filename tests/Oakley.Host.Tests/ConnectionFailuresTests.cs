using System.Net;
using Oakley.Engine;

namespace Oakley.Host.Tests;

/// <summary>The last failure of a connection keeps the engine's most precise reason (issue 15).</summary>
public class ConnectionFailuresTests
{
    private static readonly DateTimeOffset T = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AFailedIkeSa_RecordsItsLastAlert_AndAnEstablishedOneDoesNot()
    {
        var failures = new ConnectionFailures();
        failures.Handle(new Alert(T, 1, "peer requested ECP_256 instead of CURVE_25519; retrying"));
        failures.Handle(new Alert(T, 1, "certificate 'C=CH, O=Lab, CN=sun' expired on 2026-10-01 (now 2026-12-07)"));
        failures.Handle(new IkeSaDown(T, 1, "gw", "IKE_AUTH failed", WasEstablished: false));
        failures.Handle(new IkeSaUp(T, 2, "other", 1, 2, true, new IPEndPoint(IPAddress.Loopback, 500), new IPEndPoint(IPAddress.Loopback, 500), "x", "a", "b"));
        failures.Handle(new Alert(T, 2, "something after it was up"));
        failures.Handle(new IkeSaDown(T, 2, "other", "deleted"));
        failures.Handle(new IkeSaDown(T, 3, "quiet", "retransmits exhausted", WasEstablished: false));
        // A responder's refusal: no IkeSaDown follows (the SA never was up).
        failures.Handle(new Alert(T, 4, "ID 'sun.example' not confirmed by certificate 'CN=moon'; its subjectAltNames are none", RefusedConnection: "gw2"));

        Assert.Equal("certificate 'C=CH, O=Lab, CN=sun' expired on 2026-10-01 (now 2026-12-07)", (string)failures.Of("gw")!["reason"]!);
        Assert.Equal("2026-12-07T10:00:00Z", (string)failures.Of("gw")!["time"]!);
        Assert.Null(failures.Of("other"));
        Assert.Equal("retransmits exhausted", (string)failures.Of("quiet")!["reason"]!);
        Assert.Equal("ID 'sun.example' not confirmed by certificate 'CN=moon'; its subjectAltNames are none", (string)failures.Of("gw2")!["reason"]!);
        Assert.Equal(["gw", "gw2", "quiet"], failures.All().Select(f => (string)f!["connection"]!));
    }
}
