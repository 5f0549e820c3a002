using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Oakley.Tests.Shared;

/// <summary>
/// An IL-level check, independent of the BannedApiAnalyzer, that a sans-IO assembly references no clock,
/// ambient randomness, socket, file, console or delay API. It reads the compiled assembly's member and type
/// references, so it also catches uses that slip past the analyzer (for example through a suppression).
/// </summary>
internal static class SansIoAssertions
{
    private static readonly (string Namespace, string Type, string? Member)[] Banned =
    [
        ("System", "DateTime", "get_Now"),
        ("System", "DateTime", "get_UtcNow"),
        ("System", "DateTime", "get_Today"),
        ("System", "DateTimeOffset", "get_Now"),
        ("System", "DateTimeOffset", "get_UtcNow"),
        ("System", "Environment", "get_TickCount"),
        ("System", "Environment", "get_TickCount64"),
        ("System.Diagnostics", "Stopwatch", null),
        ("System", "TimeProvider", "get_System"),
        ("System", "Random", null),
        ("System.Security.Cryptography", "RandomNumberGenerator", "Fill"),
        ("System.Security.Cryptography", "RandomNumberGenerator", "GetBytes"),
        ("System.Security.Cryptography", "RandomNumberGenerator", "Create"),
        ("System", "Guid", "NewGuid"),
        ("System.Threading.Tasks", "Task", "Delay"),
        ("System.Threading", "Thread", "Sleep"),
        ("System.Threading", "Timer", null),
        ("System.IO", "File", null),
        ("System", "Console", null),
    ];

    public static IReadOnlyList<string> FindBannedReferences(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var found = new List<string>();

        foreach (var handle in md.TypeReferences)
        {
            var tr = md.GetTypeReference(handle);
            var ns = md.GetString(tr.Namespace);
            var name = md.GetString(tr.Name);
            if (ns == "System.Net.Sockets" && name is "Socket" or "UdpClient" or "TcpClient" or "TcpListener" or "NetworkStream")
            {
                found.Add($"{ns}.{name}");
            }

            foreach (var b in Banned)
            {
                if (b.Member is null && b.Namespace == ns && b.Type == name)
                {
                    found.Add($"{ns}.{name}");
                }
            }
        }

        foreach (var handle in md.MemberReferences)
        {
            var mr = md.GetMemberReference(handle);
            if (mr.Parent.Kind != HandleKind.TypeReference)
            {
                continue;
            }

            var tr = md.GetTypeReference((TypeReferenceHandle)mr.Parent);
            var ns = md.GetString(tr.Namespace);
            var type = md.GetString(tr.Name);
            var member = md.GetString(mr.Name);
            foreach (var b in Banned)
            {
                if (b.Member is not null && b.Namespace == ns && b.Type == type && b.Member == member)
                {
                    found.Add($"{ns}.{type}.{member}");
                }
            }
        }

        return found;
    }
}
