using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Policy;

namespace Confide.AttestationService.Policies;

/// <summary>The policy in force for one attestation type: the JWS it was set with, its text, parsed.</summary>
public sealed record StoredPolicy(AttestationType Type, string Jws, string Text, AttestationPolicy Policy, X509Certificate2? Signer, bool IsDefault);
