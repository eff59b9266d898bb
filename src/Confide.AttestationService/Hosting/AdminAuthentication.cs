using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace Confide.AttestationService.Hosting;

/// <summary>
/// Bearer-token validation for management routes with JwtBearer, shared by every Confide service
/// that has administrators (the attestation service, the key broker): exactly the configured
/// issuer, audience and keys, no metadata fetched. Unconfigured, it accepts nothing.
/// </summary>
public static class AdminAuthentication
{
    /// <summary>
    /// Adds JwtBearer authentication and the authorization policy <paramref name="policyName"/>
    /// (an authenticated administrator) that management routes require.
    /// </summary>
    /// <param name="writeUnauthorized">Writes the service's own 401 body (each service has its error format).</param>
    /// <param name="writeForbidden">Writes the service's 403 body; default: an empty 403.</param>
    public static IServiceCollection AddAdminAuthentication(this IServiceCollection services, AdminAuthenticationOptions admin, string policyName, Func<HttpContext, Task> writeUnauthorized, Func<HttpContext, Task>? writeForbidden = null)
    {
        ArgumentNullException.ThrowIfNull(admin);
        ArgumentNullException.ThrowIfNull(writeUnauthorized);
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(bearer =>
        {
            bearer.MapInboundClaims = false;
            bearer.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = true,
                ValidIssuer = admin.Issuer ?? string.Empty,
                ValidateAudience = true,
                ValidAudience = admin.Audience,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                RequireSignedTokens = true,
                ValidateIssuerSigningKey = true,
                IssuerSigningKeys = [.. admin.SigningKeys],
                ClockSkew = admin.ClockSkew,
            };
            bearer.Events = new JwtBearerEvents
            {
                OnChallenge = context =>
                {
                    context.HandleResponse();
                    return writeUnauthorized(context.HttpContext);
                },
                OnForbidden = context => writeForbidden is null ? Task.CompletedTask : writeForbidden(context.HttpContext),
            };
        });
        services.AddAuthorization(authorization => authorization.AddPolicy(policyName, policy =>
        {
            policy.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme);
            policy.RequireAuthenticatedUser();
            if (!admin.IsConfigured)
            {
                policy.RequireAssertion(_ => false);
            }
        }));
        return services;
    }
}
