using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Confide.Attestation.Collateral;
using Confide.Attestation.Quotes;
using Confide.Attestation.Verification;
using Confide.Tee;
using Confide.Tee.Simulation;
using Confide.Tls.Certificates;
using Confide.Tls.Evidence;
using Confide.Tls.Verification;

namespace Confide.Tls.Tests;

/// <summary>Attested certificates: what they carry, and every way the verifier refuses one.</summary>
public sealed class CertificateVerificationTests : IDisposable
{
    private readonly SimulatedEnclaves _enclaves = new();
    private readonly TeeIdentity _server = SimulatedEnclaves.Identity("server");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(AttestedCertificateFormats.Dice | AttestedCertificateFormats.OpenEnclave, AttestedCertificateKind.DiceEvidence)]
    [InlineData(AttestedCertificateFormats.Dice, AttestedCertificateKind.DiceEvidence)]
    [InlineData(AttestedCertificateFormats.OpenEnclave, AttestedCertificateKind.OpenEnclaveReport)]
    public async Task A_certificate_with_evidence_for_its_key_is_accepted_for_the_named_enclave(AttestedCertificateFormats formats, AttestedCertificateKind kind)
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        using X509Certificate2 certificate = await AttestedCertificate.CreateAsync(tee, new AttestedCertificateOptions { Formats = formats }, Ct);

        Assert.True(certificate.HasPrivateKey);
        Assert.All(certificate.Extensions.Where(e => e.Oid!.Value is AttestedTlsOids.DiceTaggedEvidence or AttestedTlsOids.OpenEnclaveReport), e => Assert.False(e.Critical));
        Assert.Equal("ECC", certificate.PublicKey.Oid.FriendlyName);

        AttestedPeer peer = await new AttestedCertificateVerifier(_enclaves.PolicyFor(_server)).VerifyAsync(certificate, Ct);
        Assert.Equal(kind, peer.Kind);
        Assert.Equal(_server.UniqueId, peer.UniqueId);
        Assert.Equal(_server.SignerId, peer.SignerId);
        Assert.True(peer.Simulated);

        // The same by signer, product and minimum SVN.
        AttestedTlsPolicy bySigner = _enclaves.PolicyFor(_server, p => { p.UniqueId = null; p.SignerId = _server.SignerId; p.ProductId = 1; p.MinimumSecurityVersion = 2; });
        Assert.Equal(kind, (await new AttestedCertificateVerifier(bySigner).VerifyAsync(certificate, Ct)).Kind);
    }

    [Fact]
    public async Task The_dice_extension_is_the_interoperable_cbor_encoding()
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        using X509Certificate2 certificate = await AttestedCertificate.CreateAsync(tee, new AttestedCertificateOptions { Formats = AttestedCertificateFormats.Dice }, Ct);
        byte[] value = certificate.Extensions[AttestedTlsOids.DiceTaggedEvidence]!.RawData;

        var reader = new CborReader(value);
        Assert.Equal(60000UL, (ulong)reader.ReadTag());
        Assert.Equal(2, reader.ReadStartArray());
        Quote quote = Quote.Parse(reader.ReadByteString());
        byte[] claims = reader.ReadByteString();
        Assert.Equal(SHA256.HashData(claims), quote.ReportData[..32]);

        var map = new CborReader(claims);
        Assert.Equal(1, map.ReadStartMap());
        Assert.Equal("pubkey-hash", map.ReadTextString());
        var hash = new CborReader(map.ReadByteString());
        Assert.Equal(2, hash.ReadStartArray());
        Assert.Equal(1, hash.ReadInt32());
        Assert.Equal(SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo()), hash.ReadByteString());
    }

    [Fact]
    public async Task Certificates_in_the_open_enclave_and_gramine_conventions_are_accepted()
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        var verifier = new AttestedCertificateVerifier(_enclaves.PolicyFor(_server));

        // Open Enclave: report data = SHA-256(PEM of the public key + NUL), in the OE report extension.
        using var oeKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] oeSpki = oeKey.ExportSubjectPublicKeyInfo();
        byte[] oeQuote = (await tee.GetEvidenceAsync(PublicKeyBinding.OpenEnclavePemHash(oeSpki), Ct)).Data;
        using X509Certificate2 openEnclave = SelfSigned(oeKey, "CN=Open Enclave SDK,O=OESDK TLS,C=US", new X509Extension(AttestedTlsOids.OpenEnclaveReport, OpenEnclaveReport.Wrap(oeQuote), false));
        Assert.Equal(AttestedCertificateKind.OpenEnclaveReport, (await verifier.VerifyAsync(openEnclave, Ct)).Kind);

        // Gramine: a P-384 key, the raw quote over SHA-256(DER SPKI) in its malformed legacy OID.
        using var gramineKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        byte[] gramineQuote = (await tee.GetEvidenceAsync(SHA256.HashData(gramineKey.ExportSubjectPublicKeyInfo()), Ct)).Data;
        using X509Certificate2 gramine = SelfSigned(gramineKey, "CN=RATLS,O=GramineDevelopers,C=US", new X509Extension(AttestedTlsOids.GramineLegacyQuote, gramineQuote, false));
        Assert.Equal(AttestedCertificateKind.LegacyQuote, (await verifier.VerifyAsync(gramine, Ct)).Kind);
    }

    [Fact]
    public async Task Refusals_name_their_reason()
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        using X509Certificate2 good = await AttestedCertificate.CreateAsync(tee, cancellationToken: Ct);
        var verifier = new AttestedCertificateVerifier(_enclaves.PolicyFor(_server));

        using var plainKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 plain = SelfSigned(plainKey, "CN=plain");
        await AssertRefusedAsync(verifier, plain, AttestedTlsError.NoEvidence);

        // Another key carrying the good certificate's evidence.
        using X509Certificate2 stolen = SelfSigned(plainKey, "CN=stolen", good.Extensions[AttestedTlsOids.DiceTaggedEvidence]!);
        await AssertRefusedAsync(verifier, stolen, AttestedTlsError.KeyNotBound);
        using X509Certificate2 stolenOe = SelfSigned(plainKey, "CN=stolen", good.Extensions[AttestedTlsOids.OpenEnclaveReport]!);
        await AssertRefusedAsync(verifier, stolenOe, AttestedTlsError.KeyNotBound);

        // Another enclave, a too-low SVN, a debug build, simulation not allowed.
        await AssertRefusedAsync(new AttestedCertificateVerifier(_enclaves.PolicyFor(SimulatedEnclaves.Identity("other"))), good, AttestedTlsError.IdentityMismatch);
        await AssertRefusedAsync(new AttestedCertificateVerifier(_enclaves.PolicyFor(_server, p => { p.UniqueId = null; p.SignerId = _server.SignerId; p.ProductId = 1; p.MinimumSecurityVersion = 3; })), good, AttestedTlsError.IdentityMismatch);
        await AssertRefusedAsync(new AttestedCertificateVerifier(_enclaves.PolicyFor(_server, p => { p.UniqueId = null; p.SignerId = _server.SignerId; p.ProductId = 9; })), good, AttestedTlsError.IdentityMismatch);
        TeeIdentity debugIdentity = SimulatedEnclaves.Identity("server", debug: true);
        using SimulationTee debugTee = _enclaves.Tee(debugIdentity);
        using X509Certificate2 debug = await AttestedCertificate.CreateAsync(debugTee, cancellationToken: Ct);
        await AssertRefusedAsync(new AttestedCertificateVerifier(_enclaves.PolicyFor(debugIdentity)), debug, AttestedTlsError.EvidenceRejected, "DebugEnclave");
        await AssertRefusedAsync(new AttestedCertificateVerifier(_enclaves.PolicyFor(_server, p => p.AllowSimulation = false)), good, AttestedTlsError.EvidenceRejected, "Simulation");

        // Tampered evidence: one byte of the quote's signed body.
        byte[] report = good.Extensions[AttestedTlsOids.OpenEnclaveReport]!.RawData.ToArray();
        report[OpenEnclaveReport.HeaderSize + 48 + 64] ^= 1;
        using X509Certificate2 tampered = SelfSigned(plainKey, "CN=tampered", new X509Extension(AttestedTlsOids.OpenEnclaveReport, report, false));
        await AssertRefusedAsync(verifier, tampered, AttestedTlsError.EvidenceRejected, "InvalidQuoteSignature");

        // Malformed CBOR, an oversized extension, a non-quote tag.
        using X509Certificate2 garbage = SelfSigned(plainKey, "CN=garbage", new X509Extension(AttestedTlsOids.DiceTaggedEvidence, [0xD9, 0xEA, 0x60, 0x82, 0x41], false));
        await AssertRefusedAsync(verifier, garbage, AttestedTlsError.MalformedEvidence);
        using X509Certificate2 huge = SelfSigned(plainKey, "CN=huge", new X509Extension(AttestedTlsOids.OpenEnclaveReport, new byte[70_000], false));
        await AssertRefusedAsync(verifier, huge, AttestedTlsError.EvidenceTooLarge);
        var tag = new CborWriter();
        tag.WriteTag((CborTag)60001);
        tag.WriteStartArray(2);
        tag.WriteByteString([1]);
        tag.WriteByteString([2]);
        tag.WriteEndArray();
        using X509Certificate2 report60001 = SelfSigned(plainKey, "CN=report", new X509Extension(AttestedTlsOids.DiceTaggedEvidence, tag.Encode(), false));
        await AssertRefusedAsync(verifier, report60001, AttestedTlsError.MalformedEvidence, "60001");

        // Signed by another key than its own; outside its validity.
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=forged", plainKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(good.Extensions[AttestedTlsOids.DiceTaggedEvidence]!);
        using X509Certificate2 forged = request.Create(new X500DistinguishedName("CN=forged"), X509SignatureGenerator.CreateForECDsa(otherKey), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(1), [1, 2, 3]);
        await AssertRefusedAsync(verifier, forged, AttestedTlsError.InvalidCertificate, "not signed by its own key");
        using X509Certificate2 expired = await AttestedCertificate.CreateAsync(tee, new AttestedCertificateOptions { TimeProvider = new FixedTime(DateTimeOffset.UtcNow.AddDays(-3)) }, Ct);
        await AssertRefusedAsync(verifier, expired, AttestedTlsError.InvalidCertificate, "valid from");

        Assert.Throws<InvalidOperationException>(() => new AttestedCertificateVerifier(new AttestedTlsPolicy()));
    }

    [Fact]
    public async Task A_real_quote_verifies_but_binds_no_key_of_ours()
    {
        const string name = "sgx_v3_phala";
        byte[] quote = DcapVectors.Quote(name);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        DateTimeOffset at = DateTimeOffset.FromUnixTimeSeconds(DcapVectors.Expected(name).GetProperty("verify_at").GetInt64());
        var request = new CertificateRequest("CN=RATLS", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509Extension(AttestedTlsOids.GramineLegacyQuote, quote, false));
        using X509Certificate2 certificate = request.CreateSelfSigned(at.AddHours(-1), at.AddHours(1));
        var policy = new AttestedTlsPolicy
        {
            UniqueId = DcapVectors.ExpectedField(name, "mrenclave"),
            Collateral = new FileCollateralProvider(Path.Combine(DcapVectors.Directory, name + ".collateral.json")),
            Verifier = new QuoteVerifierOptions { TimeProvider = new FixedTime(at) },
            AcceptedTcbStatuses = VerificationPolicy.AnyNonRevokedTcb.AcceptedTcbStatuses,
        };

        // The quote is genuine (it passes the DCAP checks), but its report data is not our key's hash.
        await AssertRefusedAsync(new AttestedCertificateVerifier(policy), certificate, AttestedTlsError.KeyNotBound);

        // And with the default TCB levels the platform's ConfigurationAndSWHardeningNeeded is refused first.
        policy.AcceptedTcbStatuses = VerificationPolicy.Default.AcceptedTcbStatuses;
        await AssertRefusedAsync(new AttestedCertificateVerifier(policy), certificate, AttestedTlsError.EvidenceRejected, "TcbStatus");
    }

    [Fact]
    public async Task A_verified_certificate_is_remembered_until_it_expires()
    {
        using SimulationTee tee = _enclaves.Tee(_server);
        var counting = new CountingProvider(new SimulatedCollateralProvider(_enclaves.Platform));
        var time = new MovableTime(DateTimeOffset.UtcNow);
        AttestedTlsPolicy policy = _enclaves.PolicyFor(_server, p => { p.Collateral = counting; p.Verifier.TimeProvider = time; p.Verifier.CacheVerifiedCollateral = false; });
        var verifier = new AttestedCertificateVerifier(policy);
        using X509Certificate2 certificate = await AttestedCertificate.CreateAsync(tee, new AttestedCertificateOptions { Lifetime = TimeSpan.FromHours(1) }, Ct);

        AttestedPeer first = await verifier.VerifyAsync(certificate, Ct);
        int calls = counting.Calls;
        Assert.True(calls > 0);
        Assert.Same(first, await verifier.VerifyAsync(X509CertificateLoader.LoadCertificate(certificate.RawData), Ct));
        Assert.Equal(calls, counting.Calls);
        Assert.True(verifier.TryGetVerified(certificate, out _));

        time.Advance(TimeSpan.FromHours(2));
        Assert.False(verifier.TryGetVerified(certificate, out _));
        await AssertRefusedAsync(verifier, certificate, AttestedTlsError.InvalidCertificate);
    }

    public void Dispose() => _enclaves.Dispose();

    internal static async Task AssertRefusedAsync(AttestedCertificateVerifier verifier, X509Certificate2 certificate, AttestedTlsError error, string? messagePart = null)
    {
        AttestedTlsException refused = await Assert.ThrowsAsync<AttestedTlsException>(() => verifier.VerifyAsync(certificate, Ct));
        Assert.True(error == refused.Error, $"expected {error}, got {refused.Error}: {refused.Message}");
        if (messagePart is not null)
        {
            Assert.Contains(messagePart, refused.Message, StringComparison.Ordinal);
        }
    }

    internal static X509Certificate2 SelfSigned(ECDsa key, string subject, params X509Extension[] extensions)
    {
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        foreach (X509Extension extension in extensions)
        {
            request.CertificateExtensions.Add(extension);
        }

        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
    }

    private sealed class CountingProvider(ICollateralProvider inner) : ICollateralProvider
    {
        public int Calls;

        public ValueTask<QuoteCollateral> GetCollateralAsync(CollateralRequest request, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Calls);
            return inner.GetCollateralAsync(request, cancellationToken);
        }
    }
}

internal sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

internal sealed class MovableTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
