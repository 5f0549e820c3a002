using Oakley.Crypto.Prf;

namespace Oakley.Crypto.Tests.Prf;

public class HmacPrfSmokeTests
{
    [Fact]
    public void Sha256_RFC4231_TestCase2()
    {
        var mac = HmacPrf.Sha256.Compute("Jefe"u8, "what do ya want for nothing?"u8);
        Assert.Equal("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", Convert.ToHexStringLower(mac));
    }
}
