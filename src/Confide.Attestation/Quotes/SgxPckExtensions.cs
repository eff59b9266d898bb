using System.Formats.Asn1;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;

namespace Confide.Attestation.Quotes;

/// <summary>SGX type of a PCK certificate (extension entry .5).</summary>
public enum SgxType
{
    /// <summary>Client platforms; PCK certificates issued by the Processor CA.</summary>
    Standard = 0,

    /// <summary>Scalable SGX (Xeon SP); PCK certificates issued by the Platform CA.</summary>
    Scalable = 1,

    ScalableWithIntegrity = 2,
}

/// <summary>
/// The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1): the platform's
/// identity (PPID, FMSPC, PCE-ID) and the TCB level the certificate was issued for.
/// </summary>
/// <remarks>
/// <para>The extension value is <c>SEQUENCE OF SEQUENCE { OID, value }</c>; entries .1 PPID,
/// .2 TCB, .3 PCE-ID, .4 FMSPC and .5 SGX type are required, .6 PlatformInstanceID and
/// .7 Configuration are present on Platform-CA certificates only.</para>
/// <para>Decoding is strict DER: required entries must each appear once, sizes must match, SVNs
/// must be in range. Entries with unknown OIDs (at either level) are skipped, so that a future
/// Intel addition does not make every new certificate undecodable; <see cref="Encode"/> does not
/// reproduce them. Errors are <see cref="QuoteFormatException"/> with
/// <see cref="QuoteFormatError.InvalidPckExtension"/> and the offset of the entry that failed,
/// relative to the extension value.</para>
/// </remarks>
public sealed class SgxPckExtensions : IEquatable<SgxPckExtensions>
{
    public const string Oid = "1.2.840.113741.1.13.1";

    public const int PpidSize = 16;
    public const int TcbComponentCount = 16;
    public const int CpuSvnSize = 16;
    public const int PceIdSize = 2;
    public const int FmspcSize = 6;
    public const int PlatformInstanceIdSize = 16;

    private const string PpidOid = Oid + ".1";
    private const string TcbOid = Oid + ".2";
    private const string PceIdOid = Oid + ".3";
    private const string FmspcOid = Oid + ".4";
    private const string SgxTypeOid = Oid + ".5";
    private const string PlatformInstanceIdOid = Oid + ".6";
    private const string ConfigurationOid = Oid + ".7";

    // TCB entries .2.1 – .2.16 are the component SVNs, .2.17 the PCE SVN, .2.18 the CPU SVN.
    private const string TcbEntryPrefix = TcbOid + ".";
    private const int PceSvnTcbIndex = 17;
    private const int CpuSvnTcbIndex = 18;

    private const string DynamicPlatformOid = ConfigurationOid + ".1";
    private const string CachedKeysOid = ConfigurationOid + ".2";
    private const string SmtEnabledOid = ConfigurationOid + ".3";

    public byte[] Ppid { get; init; } = ByteFields.Zeros(PpidSize);

    /// <summary>SGX TCB component SVNs 1–16 (entries .2.1 – .2.16); what Intel's QVL matches TCB levels against.</summary>
    public byte[] TcbComponents { get; init; } = ByteFields.Zeros(TcbComponentCount);

    public ushort PceSvn { get; init; }

    /// <summary>Entry .2.18. In every real certificate its bytes equal <see cref="TcbComponents"/>.</summary>
    public byte[] CpuSvn { get; init; } = ByteFields.Zeros(CpuSvnSize);

    public byte[] PceId { get; init; } = ByteFields.Zeros(PceIdSize);

    /// <summary>Family-Model-Stepping-Platform-CustomSKU: selects the TCB info to match against.</summary>
    public byte[] Fmspc { get; init; } = ByteFields.Zeros(FmspcSize);

    public SgxType SgxType { get; init; }

    /// <summary>Platform-CA certificates only; null when absent.</summary>
    public byte[]? PlatformInstanceId { get; init; }

    /// <summary>Configuration .7.1; null when absent.</summary>
    public bool? DynamicPlatform { get; init; }

    /// <summary>Configuration .7.2; null when absent.</summary>
    public bool? CachedKeys { get; init; }

    /// <summary>Configuration .7.3; null when absent.</summary>
    public bool? SmtEnabled { get; init; }

    /// <summary>Decodes the extension value (the DER inside the extension's OCTET STRING).</summary>
    /// <exception cref="QuoteFormatException"><see cref="QuoteFormatError.InvalidPckExtension"/>.</exception>
    public static SgxPckExtensions Decode(ReadOnlySpan<byte> extensionValueDer)
    {
        // AsnReader needs memory rather than a span; owning a copy also lets every slice it
        // hands out be mapped back to an offset for error messages.
        byte[] der = extensionValueDer.ToArray();
        var decoder = new Decoder(der);
        return decoder.Decode();
    }

    /// <summary>Finds and decodes the SGX extension of a PCK certificate.</summary>
    /// <exception cref="QuoteFormatException">
    /// <see cref="QuoteFormatError.PckExtensionMissing"/> if the certificate has none, or
    /// <see cref="QuoteFormatError.InvalidPckExtension"/>.
    /// </exception>
    public static SgxPckExtensions FromCertificate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        X509Extension? extension = certificate.Extensions[Oid];
        if (extension is null)
        {
            throw new QuoteFormatException(
                QuoteFormatError.PckExtensionMissing,
                0,
                $"Certificate '{certificate.Subject}' has no SGX PCK extension ({Oid})");
        }

        return Decode(extension.RawData);
    }

    /// <summary>Encodes the extension value as DER, entries in OID order.</summary>
    /// <exception cref="ArgumentException">An array has the wrong length.</exception>
    public byte[] Encode()
    {
        RequireSize(Ppid, PpidSize, nameof(Ppid));
        RequireSize(TcbComponents, TcbComponentCount, nameof(TcbComponents));
        RequireSize(CpuSvn, CpuSvnSize, nameof(CpuSvn));
        RequireSize(PceId, PceIdSize, nameof(PceId));
        RequireSize(Fmspc, FmspcSize, nameof(Fmspc));
        if (PlatformInstanceId is not null)
        {
            RequireSize(PlatformInstanceId, PlatformInstanceIdSize, nameof(PlatformInstanceId));
        }

        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            WriteOctetStringEntry(writer, PpidOid, Ppid);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(TcbOid);
                using (writer.PushSequence())
                {
                    for (int i = 0; i < TcbComponentCount; i++)
                    {
                        WriteIntegerEntry(writer, TcbEntryPrefix + (i + 1), TcbComponents[i]);
                    }

                    WriteIntegerEntry(writer, TcbEntryPrefix + PceSvnTcbIndex, PceSvn);
                    WriteOctetStringEntry(writer, TcbEntryPrefix + CpuSvnTcbIndex, CpuSvn);
                }
            }

            WriteOctetStringEntry(writer, PceIdOid, PceId);
            WriteOctetStringEntry(writer, FmspcOid, Fmspc);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(SgxTypeOid);
                writer.WriteEnumeratedValue(SgxType);
            }

            if (PlatformInstanceId is not null)
            {
                WriteOctetStringEntry(writer, PlatformInstanceIdOid, PlatformInstanceId);
            }

            if (DynamicPlatform is not null || CachedKeys is not null || SmtEnabled is not null)
            {
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(ConfigurationOid);
                    using (writer.PushSequence())
                    {
                        WriteBooleanEntry(writer, DynamicPlatformOid, DynamicPlatform);
                        WriteBooleanEntry(writer, CachedKeysOid, CachedKeys);
                        WriteBooleanEntry(writer, SmtEnabledOid, SmtEnabled);
                    }
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>A non-critical extension carrying <see cref="Encode"/>, for issuing (simulated) PCK certificates.</summary>
    public X509Extension ToExtension() => new(Oid, Encode(), critical: false);

    public bool Equals(SgxPckExtensions? other) =>
        other is not null
        && ByteFields.Equal(Ppid, other.Ppid)
        && ByteFields.Equal(TcbComponents, other.TcbComponents)
        && PceSvn == other.PceSvn
        && ByteFields.Equal(CpuSvn, other.CpuSvn)
        && ByteFields.Equal(PceId, other.PceId)
        && ByteFields.Equal(Fmspc, other.Fmspc)
        && SgxType == other.SgxType
        && (PlatformInstanceId is null) == (other.PlatformInstanceId is null)
        && ByteFields.Equal(PlatformInstanceId, other.PlatformInstanceId)
        && DynamicPlatform == other.DynamicPlatform
        && CachedKeys == other.CachedKeys
        && SmtEnabled == other.SmtEnabled;

    public override bool Equals(object? obj) => Equals(obj as SgxPckExtensions);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        ByteFields.Add(ref hash, Ppid);
        ByteFields.Add(ref hash, Fmspc);
        hash.Add(PceSvn);
        return hash.ToHashCode();
    }

    private static void RequireSize(byte[]? value, int size, string name)
    {
        if (value is null || value.Length != size)
        {
            throw new ArgumentException($"{name} must be {size} bytes, but is {(value is null ? "null" : $"{value.Length} bytes")}.");
        }
    }

    private static void WriteOctetStringEntry(AsnWriter writer, string oid, byte[] value)
    {
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(oid);
            writer.WriteOctetString(value);
        }
    }

    private static void WriteIntegerEntry(AsnWriter writer, string oid, long value)
    {
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(oid);
            writer.WriteInteger(value);
        }
    }

    private static void WriteBooleanEntry(AsnWriter writer, string oid, bool? value)
    {
        if (value is not { } flag)
        {
            return;
        }

        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(oid);
            writer.WriteBoolean(flag);
        }
    }

    /// <summary>
    /// One decoding pass. It remembers where the entry being decoded starts so that any
    /// failure, including an <see cref="AsnContentException"/> deep inside, reports that offset.
    /// </summary>
    private sealed class Decoder(byte[] der)
    {
        private int _entryOffset;

        private byte[]? _ppid;
        private byte[]? _tcbComponents;
        private ushort? _pceSvn;
        private byte[]? _cpuSvn;
        private byte[]? _pceId;
        private byte[]? _fmspc;
        private SgxType? _sgxType;
        private byte[]? _platformInstanceId;
        private bool _hasConfiguration;
        private bool? _dynamicPlatform;
        private bool? _cachedKeys;
        private bool? _smtEnabled;

        public SgxPckExtensions Decode()
        {
            try
            {
                var outer = new AsnReader(der, AsnEncodingRules.DER);
                AsnReader entries = outer.ReadSequence();
                outer.ThrowIfNotEmpty();
                foreach (AsnReader entry in Entries(entries))
                {
                    DecodeTopLevelEntry(entry);
                }
            }
            catch (AsnContentException e)
            {
                throw new QuoteFormatException(
                    QuoteFormatError.InvalidPckExtension,
                    _entryOffset,
                    $"SGX PCK extension is not valid DER: {e.Message}",
                    e);
            }

            _entryOffset = der.Length;
            return new SgxPckExtensions
            {
                Ppid = Required(_ppid, "PPID (.1)"),
                TcbComponents = Required(_tcbComponents, "TCB (.2)"),
                PceSvn = _pceSvn ?? 0,
                CpuSvn = Required(_cpuSvn, "TCB (.2)"),
                PceId = Required(_pceId, "PCE-ID (.3)"),
                Fmspc = Required(_fmspc, "FMSPC (.4)"),
                SgxType = _sgxType ?? throw Invalid("required entry SGX Type (.5) is missing"),
                PlatformInstanceId = _platformInstanceId,
                DynamicPlatform = _dynamicPlatform,
                CachedKeys = _cachedKeys,
                SmtEnabled = _smtEnabled,
            };
        }

        /// <summary>Yields a reader positioned after the OID of each (OID, value) entry; sets the offset first.</summary>
        private IEnumerable<AsnReader> Entries(AsnReader sequence)
        {
            while (sequence.HasData)
            {
                _entryOffset = OffsetOf(sequence.PeekEncodedValue());
                AsnReader entry = sequence.ReadSequence();
                yield return entry;
                entry.ThrowIfNotEmpty();
            }
        }

        private void DecodeTopLevelEntry(AsnReader entry)
        {
            string oid = entry.ReadObjectIdentifier();
            switch (oid)
            {
                case PpidOid:
                    RejectDuplicate(_ppid is not null, oid);
                    _ppid = ReadOctets(entry, PpidSize, "PPID");
                    break;
                case TcbOid:
                    RejectDuplicate(_tcbComponents is not null, oid);
                    DecodeTcb(entry.ReadSequence());
                    break;
                case PceIdOid:
                    RejectDuplicate(_pceId is not null, oid);
                    _pceId = ReadOctets(entry, PceIdSize, "PCE-ID");
                    break;
                case FmspcOid:
                    RejectDuplicate(_fmspc is not null, oid);
                    _fmspc = ReadOctets(entry, FmspcSize, "FMSPC");
                    break;
                case SgxTypeOid:
                    RejectDuplicate(_sgxType is not null, oid);
                    _sgxType = entry.ReadEnumeratedValue<SgxType>();
                    break;
                case PlatformInstanceIdOid:
                    RejectDuplicate(_platformInstanceId is not null, oid);
                    _platformInstanceId = ReadOctets(entry, PlatformInstanceIdSize, "PlatformInstanceID");
                    break;
                case ConfigurationOid:
                    RejectDuplicate(_hasConfiguration, oid);
                    _hasConfiguration = true;
                    DecodeConfiguration(entry.ReadSequence());
                    break;
                default:
                    // Unknown entry: skip its value (see the type's remarks).
                    entry.ReadEncodedValue();
                    break;
            }
        }

        private void DecodeTcb(AsnReader tcb)
        {
            int tcbEntryOffset = _entryOffset;
            byte[] components = new byte[TcbComponentCount];
            bool[] seen = new bool[CpuSvnTcbIndex + 1];
            foreach (AsnReader entry in Entries(tcb))
            {
                string oid = entry.ReadObjectIdentifier();
                int index = TcbIndex(oid);
                if (index == 0)
                {
                    entry.ReadEncodedValue();
                    continue;
                }

                RejectDuplicate(seen[index], oid);
                seen[index] = true;
                if (index == CpuSvnTcbIndex)
                {
                    _cpuSvn = ReadOctets(entry, CpuSvnSize, "CPUSVN");
                }
                else if (index == PceSvnTcbIndex)
                {
                    _pceSvn = (ushort)ReadUnsigned(entry, ushort.MaxValue, "PCESVN");
                }
                else
                {
                    components[index - 1] = (byte)ReadUnsigned(entry, byte.MaxValue, $"TCB component {index}");
                }
            }

            _entryOffset = tcbEntryOffset;
            for (int index = 1; index <= CpuSvnTcbIndex; index++)
            {
                if (!seen[index])
                {
                    throw Invalid($"TCB entry {TcbEntryPrefix}{index} is missing");
                }
            }

            _tcbComponents = components;
        }

        private void DecodeConfiguration(AsnReader configuration)
        {
            foreach (AsnReader entry in Entries(configuration))
            {
                string oid = entry.ReadObjectIdentifier();
                switch (oid)
                {
                    case DynamicPlatformOid:
                        RejectDuplicate(_dynamicPlatform is not null, oid);
                        _dynamicPlatform = entry.ReadBoolean();
                        break;
                    case CachedKeysOid:
                        RejectDuplicate(_cachedKeys is not null, oid);
                        _cachedKeys = entry.ReadBoolean();
                        break;
                    case SmtEnabledOid:
                        RejectDuplicate(_smtEnabled is not null, oid);
                        _smtEnabled = entry.ReadBoolean();
                        break;
                    default:
                        entry.ReadEncodedValue();
                        break;
                }
            }
        }

        /// <summary>1–18 for .2.1 – .2.18; 0 for any other OID (ReadObjectIdentifier yields canonical arcs, so "01" cannot occur).</summary>
        private static int TcbIndex(string oid) =>
            oid.StartsWith(TcbEntryPrefix, StringComparison.Ordinal)
            && int.TryParse(oid.AsSpan(TcbEntryPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            && index is >= 1 and <= CpuSvnTcbIndex
                ? index
                : 0;

        private byte[] ReadOctets(AsnReader entry, int size, string name)
        {
            byte[] value = entry.ReadOctetString();
            return value.Length == size
                ? value
                : throw Invalid($"{name} must be {size} bytes, but is {value.Length}");
        }

        private uint ReadUnsigned(AsnReader entry, uint max, string name)
        {
            // TryReadUInt32 fails for negative values as well as for ones that do not fit.
            return entry.TryReadUInt32(out uint value) && value <= max
                ? value
                : throw Invalid($"{name} is not an integer in 0..{max}");
        }

        private byte[] Required(byte[]? value, string name) =>
            value ?? throw Invalid($"required entry {name} is missing");

        private void RejectDuplicate(bool alreadySeen, string oid)
        {
            if (alreadySeen)
            {
                throw Invalid($"entry {oid} appears more than once");
            }
        }

        private QuoteFormatException Invalid(string message) =>
            new(QuoteFormatError.InvalidPckExtension, _entryOffset, $"SGX PCK extension: {message}");

        private static int OffsetOf(ReadOnlyMemory<byte> slice) =>
            MemoryMarshal.TryGetArray(slice, out ArraySegment<byte> segment) ? segment.Offset : 0;
    }
}
