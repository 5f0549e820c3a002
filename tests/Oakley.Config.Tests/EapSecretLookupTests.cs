using System.Text;
using Oakley.Engine;

namespace Oakley.Config.Tests;

/// <summary>CredentialStore's indexed EAP secret lookup answers as strongSwan's best-match rule does.</summary>
public class EapSecretLookupTests
{
    private static Identity Id(string s) => Identity.Parse(s);

    private static string? Find(CredentialStore store, string eapId, string? other = null) =>
        store.FindEapSecret(Id(eapId), other is null ? null : Id(other)) is { } s ? Encoding.UTF8.GetString(s) : null;

    [Fact]
    public void ExactNames_Wildcards_AnyAndNoIds_AreFound_BestFirst()
    {
        var store = new CredentialStore();
        store.AddEap([], "anyone"u8.ToArray());
        store.AddEap([Id("*@example.org")], "domain"u8.ToArray());
        store.AddEap([Id("carol@example.org")], "carol"u8.ToArray());
        store.AddEap([Id("carol@example.org"), Id("gw.example")], "carol at gw"u8.ToArray());
        store.AddEap([Id("%any"), Id("gw2.example")], "any at gw2"u8.ToArray());
        for (var i = 0; i < 1000; i++)
        {
            store.AddEap([Id($"user{i}@example.org")], Encoding.UTF8.GetBytes($"pw{i}"));
        }

        Assert.Equal("carol", Find(store, "carol@example.org"));
        Assert.Equal("carol", Find(store, "CAROL@Example.org")); // emails and FQDNs match case-insensitively
        Assert.Equal("carol at gw", Find(store, "carol@example.org", "gw.example"));
        Assert.Equal("pw517", Find(store, "user517@example.org"));
        Assert.Equal("domain", Find(store, "dave@example.org"));
        Assert.Equal("anyone", Find(store, "dave@other.example"));
        Assert.Equal("any at gw2", Find(store, "dave@other.example", "gw2.example"));
    }

    [Fact]
    public void ATie_GoesToTheFirstDefined()
    {
        var store = new CredentialStore();
        store.AddEap([Id("carol")], "first"u8.ToArray());
        store.AddEap([Id("carol")], "second"u8.ToArray());
        Assert.Equal("first", Find(store, "carol"));
        Assert.Null(new CredentialStore().FindEapSecret(Id("carol"), null));
    }
}
