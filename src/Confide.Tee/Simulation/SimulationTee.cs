using System.Buffers.Binary;
using System.Security.Cryptography;
using Confide.Attestation.Quotes;

namespace Confide.Tee.Simulation;

/// <summary>
/// The simulation back-end: an enclave identity (measured from its package by the runtime, as a CPU
/// would measure it at EINIT) on a <see cref="SimulatedPlatform"/>. Evidence is a real-format SGX
/// quote v3 that chains to the simulation root; seal keys come from the platform's seal secret.
/// </summary>
public sealed class SimulationTee : ITee
{
    private static readonly byte[] SealLabel = "CONFIDE-SIMULATION-SEAL-KEY-V1"u8.ToArray();

    private readonly SimulatedPlatform _platform;
    private readonly bool _ownsPlatform;

    public SimulationTee(SimulatedPlatform platform, TeeIdentity identity, bool ownsPlatform = false)
    {
        if (identity.Kind != TeeKind.Simulation || identity.UniqueId.Length != 32 || identity.SignerId.Length != 32)
        {
            throw new ArgumentException("A simulated SGX identity has 32-byte MRENCLAVE and MRSIGNER.", nameof(identity));
        }

        _platform = platform;
        _ownsPlatform = ownsPlatform;
        Identity = identity;
    }

    public TeeKind Kind => TeeKind.Simulation;

    public bool IsSimulated => true;

    public TeeIdentity Identity { get; }

    public SimulatedPlatform Platform => _platform;

    public ValueTask<TeeEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        byte[] data = ReportData.Pad(reportData.Span);
        var report = new SgxReportBody
        {
            CpuSvn = _platform.TcbComponents,
            Flags = (ulong)(SgxAttributeFlags.Initted | SgxAttributeFlags.Mode64Bit | (Identity.Debug ? SgxAttributeFlags.Debug : 0)),
            Xfrm = 0xE7,
            MrEnclave = Identity.UniqueId,
            MrSigner = Identity.SignerId,
            IsvProdId = Identity.ProductId,
            IsvSvn = Identity.SecurityVersion,
            ReportData = data,
        };

        byte[] quote = SimulatedQuoteBuilder.Build(_platform, report);
        var evidence = new TeeEvidence(EvidenceFormat.SgxQuote, quote, IsSimulated: true)
        {
            CollateralJson = _platform.GetCollateral().ToJson(),
        };
        return ValueTask.FromResult(evidence);
    }

    public byte[] DeriveSealKey(SealKeyRequest request)
    {
        SealKeys.Validate(request, Identity);

        // As EGETKEY: the policy's measurement (MRENCLAVE or MRSIGNER), ISVPRODID and the DEBUG
        // attribute are mixed into every key, with the requested SVN. A debug build of an
        // enclave therefore never derives its production build's keys.
        byte[] measurement = request.Policy == SealPolicy.Unique ? Identity.UniqueId : Identity.SignerId;
        byte[] info = new byte[SealLabel.Length + 1 + measurement.Length + 2 + 1 + 2];
        Span<byte> cursor = info;
        SealLabel.CopyTo(cursor);
        cursor = cursor[SealLabel.Length..];
        cursor[0] = (byte)request.Policy;
        measurement.CopyTo(cursor[1..]);
        cursor = cursor[(1 + measurement.Length)..];
        BinaryPrimitives.WriteUInt16LittleEndian(cursor, Identity.ProductId);
        cursor[2] = Identity.Debug ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(cursor[3..], request.SecurityVersion);
        byte[] key = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _platform.SealSecret, key, request.KeyId.Span, info);
        return key;
    }

    public void Dispose()
    {
        if (_ownsPlatform)
        {
            _platform.Dispose();
        }
    }
}
