using System.Reflection;

namespace Oakley.Tests.Shared;

/// <summary>
/// Which of Oakley's own assemblies a compiled assembly depends on, read from the assembly references the
/// compiler emitted (so a project reference that nothing uses does not count, and one that is used always
/// does). The layering tests use it to keep a lower layer from growing a dependency on a higher one, for
/// example the ESP data plane on the IKE codecs.
/// </summary>
internal static class LayeringAssertions
{
    /// <summary>The names of the Oakley assemblies <paramref name="assembly"/> references directly, sorted.</summary>
    public static IReadOnlyList<string> DirectOakleyReferences(Assembly assembly) =>
        [.. assembly.GetReferencedAssemblies().Select(r => r.Name ?? "").Where(IsOakley).Order(StringComparer.Ordinal)];

    /// <summary>
    /// The names of every Oakley assembly <paramref name="assembly"/> depends on, directly or through another
    /// Oakley assembly, sorted. Each is loaded by name, so the test project's output must contain it (it does:
    /// a referenced project's dependencies are copied next to the test assembly).
    /// </summary>
    public static IReadOnlyList<string> OakleyDependencyClosure(Assembly assembly)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Queue<Assembly>();
        pending.Enqueue(assembly);
        while (pending.TryDequeue(out var current))
        {
            foreach (var reference in current.GetReferencedAssemblies())
            {
                if (IsOakley(reference.Name ?? "") && seen.Add(reference.Name!))
                {
                    pending.Enqueue(Assembly.Load(reference));
                }
            }
        }

        return [.. seen];
    }

    /// <summary>
    /// Fails unless <paramref name="assembly"/> depends on exactly the Oakley assemblies <paramref name="expected"/>
    /// (sorted), both directly and through any of them.
    /// </summary>
    public static void AssertDependsOnExactly(Assembly assembly, params string[] expected)
    {
        Assert.Equal(expected, DirectOakleyReferences(assembly));
        Assert.Equal(expected, OakleyDependencyClosure(assembly));
    }

    private static bool IsOakley(string name) => name.StartsWith("Oakley.", StringComparison.Ordinal) || name == "oakley";
}
