using System.Collections.Concurrent;
using System.Text;
using Oakley.Iana;
using Oakley.Protocol.Ikev2;

namespace Oakley.Host.Counters;

/// <summary>
/// The IANA spelling of exchange and notify types (IKE_SA_INIT, AUTHENTICATION_FAILED) for metric labels, as
/// strongSwan's logs and RFC 7296 write them. A value without a name (a peer may send any number) is "OTHER", so a
/// peer cannot create label values (and series) at will.
/// </summary>
internal static class IanaNames
{
    private static readonly ConcurrentDictionary<ExchangeType, string> s_exchanges = new();
    private static readonly ConcurrentDictionary<NotifyType, string> s_notifies = new();

    public static string Exchange(ExchangeType type) =>
        s_exchanges.GetOrAdd(type, static t => Enum.IsDefined(t) ? Upper(t.ToString()) : "OTHER");

    public static string Notify(NotifyType type) =>
        s_notifies.GetOrAdd(type, static t => Enum.IsDefined(t) ? Upper(t.ToString()) : "OTHER");

    /// <summary>PascalCase to UPPER_SNAKE: AuthenticationFailed → AUTHENTICATION_FAILED, IkeSaInit → IKE_SA_INIT.</summary>
    internal static string Upper(string pascal)
    {
        var b = new StringBuilder(pascal.Length + 8);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (i > 0 && char.IsUpper(c) && (char.IsLower(pascal[i - 1]) || char.IsDigit(pascal[i - 1])))
            {
                b.Append('_');
            }

            b.Append(char.ToUpperInvariant(c));
        }

        return b.ToString();
    }
}
