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

        // info = label ‖ policy ‖ the identity the policy binds ‖ SVN: as EGETKEY mixes the key
        // policy's measurement and the requested ISVSVN into the derivation.
        byte[] binding = request.Policy == SealPolicy.Unique
            ? Identity.UniqueId
            : [.. Identity.SignerId, (byte)Identity.ProductId, (byte)(Identity.ProductId >> 8)];
        byte[] info = new byte[SealLabel.Length + 1 + binding.Length + 2];
        SealLabel.CopyTo(info, 0);
        info[SealLabel.Length] = (byte)request.Policy;
        binding.CopyTo(info, SealLabel.Length + 1);
        BinaryPrimitives.WriteUInt16LittleEndian(info.AsSpan(info.Length - 2), request.SecurityVersion);
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
