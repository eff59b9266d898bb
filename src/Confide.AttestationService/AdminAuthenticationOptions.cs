using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService;

/// <summary>
/// The bearer tokens the management APIs accept: JWTs from <see cref="Issuer"/> for
/// <see cref="Audience"/>, signed by one of <see cref="SigningKeys"/> (validated by
/// <c>Microsoft.AspNetCore.Authentication.JwtBearer</c>). With no issuer or keys configured every
/// management call is refused: there is no anonymous administration.
/// </summary>
public sealed class AdminAuthenticationOptions
{
    /// <summary>The audience Azure AD puts in tokens for the scope <c>https://attest.azure.net/.default</c>.</summary>
    public const string DefaultAudience = "https://attest.azure.net";

    /// <summary>The token issuer (<c>iss</c>), e.g. an Azure AD tenant's or an operator's own.</summary>
    public string? Issuer { get; set; }

    public string Audience { get; set; } = DefaultAudience;

    /// <summary>Keys whose signatures are accepted.</summary>
    public IList<SecurityKey> SigningKeys { get; } = [];

    /// <summary>Allowed clock skew for token lifetimes.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>True when management calls can be authorized at all.</summary>
    public bool IsConfigured => !string.IsNullOrEmpty(Issuer) && SigningKeys.Count > 0;
}
