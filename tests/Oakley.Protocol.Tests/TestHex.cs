namespace Oakley.Protocol.Tests;

internal static class TestHex
{
    public static byte[] Parse(string hex) => Convert.FromHexString(new string(hex.Where(c => !char.IsWhiteSpace(c)).ToArray()));

    public static string Repeat(string pair, int count) => string.Concat(Enumerable.Repeat(pair, count));

    public static string Of(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);
}
