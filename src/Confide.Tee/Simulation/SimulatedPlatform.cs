using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Confide.Attestation.Collateral;

namespace Confide.Tee.Simulation;

/// <summary>
/// A simulated SGX machine: its PKI (root, PCK CA, PCK certificate, TCB signing), the quoting
/// enclave's attestation key, its TCB values and its seal secret. The state is created on first
/// use under a per-user directory (owner-only permissions) and reused afterwards, so evidence and
/// sealed data stay valid across runs on the same machine, like a real platform's.
/// </summary>
/// <remarks>
/// Simulation protects nothing: any process of the same user can read these keys. What it gives
/// is the real data formats and the real verification path, with a root no policy trusts by default.
/// </remarks>
public sealed class SimulatedPlatform : IDisposable
{
    /// <summary>Environment variable that overrides the state directory.</summary>
    public const string StateDirectoryVariable = "CONFIDE_SIMULATION_DIR";

    private const string StateFileName = "platform.json";
    private const string LockFileName = "platform.lock";

    private readonly SimulatedPlatformState _state;
    private readonly TimeProvider _time;
    private readonly Lock _collateralLock = new();
    private (QuoteCollateral Collateral, DateTimeOffset RefreshAfter)? _collateral;

    private SimulatedPlatform(SimulatedPlatformState state, string directory, TimeProvider time)
    {
        _state = state;
        _time = time;
        StateDirectory = directory;
        RootCertificate = X509CertificateLoader.LoadCertificate(state.RootCertificate);
        PckCaCertificate = X509CertificateLoader.LoadCertificate(state.PckCaCertificate);
        PckCertificate = X509CertificateLoader.LoadCertificate(state.PckCertificate);
        TcbSigningCertificate = X509CertificateLoader.LoadCertificate(state.TcbSigningCertificate);
        AttestationKey = SimulatedPki.ImportKey(state.AttestationKey);
        PckKey = SimulatedPki.ImportKey(state.PckKey);
    }

    /// <summary>$CONFIDE_SIMULATION_DIR, else $XDG_STATE_HOME/confide/simulation, else ~/.local/state/confide/simulation.</summary>
    public static string DefaultStateDirectory
    {
        get
        {
            string? explicitDirectory = Environment.GetEnvironmentVariable(StateDirectoryVariable);
            if (!string.IsNullOrEmpty(explicitDirectory))
            {
                return explicitDirectory;
            }

            string? xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
            string baseDirectory = !string.IsNullOrEmpty(xdg)
                ? xdg
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
            return Path.Combine(baseDirectory, "confide", "simulation");
        }
    }

    public string StateDirectory { get; }

    /// <summary>The simulation trust anchor. Verifiers accept it only when simulation is explicitly allowed.</summary>
    public X509Certificate2 RootCertificate { get; }

    public X509Certificate2 PckCaCertificate { get; }

    public X509Certificate2 PckCertificate { get; }

    public X509Certificate2 TcbSigningCertificate { get; }

    public byte[] Fmspc => _state.Fmspc.ToArray();

    public byte[] TcbComponents => _state.TcbComponents.ToArray();

    public ushort PceSvn => _state.PceSvn;

    public ushort QeSvn => _state.QeSvn;

    internal byte[] QeId => _state.QeId;

    internal ECDsa AttestationKey { get; }

    internal ECDsa PckKey { get; }

    internal ReadOnlySpan<byte> SealSecret => _state.SealSecret;

    /// <summary>Opens the platform in <paramref name="stateDirectory"/> (default: <see cref="DefaultStateDirectory"/>), creating it on first use.</summary>
    public static SimulatedPlatform OpenOrCreate(string? stateDirectory = null, TimeProvider? timeProvider = null)
    {
        TimeProvider time = timeProvider ?? TimeProvider.System;
        string directory = Path.GetFullPath(stateDirectory ?? DefaultStateDirectory);
        EnsurePrivateDirectory(directory);
        string path = Path.Combine(directory, StateFileName);
        if (!File.Exists(path))
        {
            // File.Move(overwrite: false) is check-then-rename on Unix: two creators could both
            // "win", and one would keep a platform that is no longer on disk. Creation is serialized.
            using FileStream creationLock = AcquireCreationLock(directory);
            if (!File.Exists(path))
            {
                CreateState(path, time.GetUtcNow());
            }
        }

        SimulatedPlatformState state = ReadState(path);
        try
        {
            return new SimulatedPlatform(state, directory, time);
        }
        catch (CryptographicException ex)
        {
            // Valid JSON whose certificates or keys do not decode is as corrupt as invalid JSON.
            throw new TeeException(TeeError.PlatformState, $"The simulated platform state '{path}' holds a certificate or key that cannot be decoded ({ex.Message}); delete it to create a new one.", ex);
        }
    }

    /// <summary>
    /// The collateral for this platform's quotes: TCB info and QE identity signed by the TCB signing
    /// key, the two CRLs, and the issuer chains. Re-issued when half of its 30-day validity has passed.
    /// </summary>
    public QuoteCollateral GetCollateral()
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_collateralLock)
        {
            if (_collateral is not { } cached || now >= cached.RefreshAfter)
            {
                using ECDsa tcbSigningKey = SimulatedPki.ImportKey(_state.TcbSigningKey);
                using ECDsa rootKey = SimulatedPki.ImportKey(_state.RootKey);
                using ECDsa pckCaKey = SimulatedPki.ImportKey(_state.PckCaKey);
                QuoteCollateral collateral = SimulatedCollateral.Issue(this, tcbSigningKey, rootKey, pckCaKey, now);
                _collateral = cached = (collateral, now + (SimulatedCollateral.Validity / 2));
            }

            return cached.Collateral;
        }
    }

    /// <summary>Signs collateral text (TCB info, QE identity) as the platform's TCB signing key does: raw r‖s, hex.</summary>
    internal string SignAsTcbSigner(string text)
    {
        using ECDsa key = SimulatedPki.ImportKey(_state.TcbSigningKey);
        return Convert.ToHexStringLower(key.SignData(System.Text.Encoding.UTF8.GetBytes(text), HashAlgorithmName.SHA256));
    }

    /// <summary>A PCK CRL of this platform's PCK CA that revokes <paramref name="serials"/>, as hex DER.</summary>
    internal string IssuePckCrl(IEnumerable<byte[]> serials)
    {
        using ECDsa caKey = SimulatedPki.ImportKey(_state.PckCaKey);
        using X509Certificate2 ca = PckCaCertificate.CopyWithPrivateKey(caKey);
        var builder = new CertificateRevocationListBuilder();
        DateTimeOffset now = _time.GetUtcNow();
        foreach (byte[] serial in serials)
        {
            builder.AddEntry(serial, now.AddHours(-1));
        }

        return Convert.ToHexStringLower(builder.Build(ca, SimulatedPki.NewCrlNumber(now), now + SimulatedCollateral.Validity, HashAlgorithmName.SHA256, thisUpdate: now.AddHours(-1)));
    }

    public void Dispose()
    {
        AttestationKey.Dispose();
        PckKey.Dispose();
        RootCertificate.Dispose();
        PckCaCertificate.Dispose();
        PckCertificate.Dispose();
        TcbSigningCertificate.Dispose();
    }

    private static void EnsurePrivateDirectory(string directory)
    {
        const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, OwnerOnly);
        }

        UnixFileMode mode = File.GetUnixFileMode(directory);
        if ((mode & ~OwnerOnly) != 0)
        {
            throw new TeeException(TeeError.PlatformState,
                $"The simulation state directory '{directory}' is accessible to other users (mode {Convert.ToString((int)mode, 8)}); it holds the simulated platform's keys. Run 'chmod 700' on it.");
        }
    }

    /// <summary>An exclusive flock on platform.lock (released by the kernel if the process dies).</summary>
    private static FileStream AcquireCreationLock(string directory)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        string lockPath = Path.Combine(directory, LockFileName);
        long deadline = Environment.TickCount64 + 30_000;
        while (true)
        {
            try
            {
                return new FileStream(lockPath, options);
            }
            catch (IOException ex)
            {
                if (Environment.TickCount64 > deadline)
                {
                    throw new TeeException(TeeError.PlatformState, $"'{lockPath}' stayed locked for 30 s while creating the simulated platform: {ex.Message}", ex);
                }

                Thread.Sleep(10);
            }
        }
    }

    private static void CreateState(string path, DateTimeOffset now)
    {
        SimulatedPlatformState state = SimulatedPki.CreatePlatform(now);
        string temporary = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(temporary, options))
        {
            JsonSerializer.Serialize(stream, state);
        }

        try
        {
            // Readers see either no file or a complete one. (Creators are serialized by the caller.)
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
        }
    }

    private static SimulatedPlatformState ReadState(string path)
    {
        try
        {
            if ((File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                throw new TeeException(TeeError.PlatformState, $"'{path}' is readable by other users; it holds private keys. Run 'chmod 600' on it.");
            }

            SimulatedPlatformState state = JsonSerializer.Deserialize<SimulatedPlatformState>(File.ReadAllBytes(path))
                ?? throw new JsonException("null");
            if (state.Version != SimulatedPlatformState.CurrentVersion)
            {
                throw new TeeException(TeeError.PlatformState, $"'{path}' is of version {state.Version}; this Confide uses {SimulatedPlatformState.CurrentVersion}. Delete the directory to create a new simulated platform.");
            }

            return state;
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new TeeException(TeeError.PlatformState, $"The simulated platform state '{path}' cannot be read ({ex.Message}); delete it to create a new one.", ex);
        }
    }
}
