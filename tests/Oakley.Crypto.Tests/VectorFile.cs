using System.Text.Json;

namespace Oakley.Crypto.Tests;

/// <summary>Loads the RFC known-answer vectors copied into Vectors/ (see Vectors/SOURCE.md).</summary>
internal static class VectorFile
{
    public static IReadOnlyList<Dictionary<string, string>> Load(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", file)));
        return doc.RootElement.GetProperty("vectors").EnumerateArray()
            .Select(v => v.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.ToString()))
            .ToList();
    }

    /// <summary>Theory data: one row per vector, carrying the file name and index so that failures name the vector.</summary>
    public static TheoryData<string, int> Rows(string file)
    {
        var data = new TheoryData<string, int>();
        for (var i = 0; i < Load(file).Count; i++)
        {
            data.Add(file, i);
        }

        return data;
    }

    public static Dictionary<string, string> Get(string file, int index) => (Dictionary<string, string>)Load(file)[index];

    public static byte[] Hex(string s) => Convert.FromHexString(s);

    public static string Of(ReadOnlySpan<byte> b) => Convert.ToHexStringLower(b);
}
