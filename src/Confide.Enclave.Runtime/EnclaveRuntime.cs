using System.Net.Sockets;
using Confide.Enclave.Calls.Protocol;
using Confide.Tee;

namespace Confide.Enclave.Runtime;

/// <summary>
/// The entry point of the trusted side. <see cref="StartAsync"/> does what enclave creation does in
/// SGX: measure the enclave's own package and check its signature (simulated EINIT), bring up the
/// TEE, and connect to the host that launched it.
/// </summary>
public static class EnclaveRuntime
{
    private const string ChannelVariable = "CONFIDE_CHANNEL";
    private const string TokenVariable = "CONFIDE_CHANNEL_TOKEN";

    /// <exception cref="EnclavePackageException">The enclave's own files do not match its signature.</exception>
    /// <exception cref="TeeException">The TEE back-end is unavailable.</exception>
    public static async Task<EnclaveContext> StartAsync(EnclaveRuntimeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new EnclaveRuntimeOptions();
        EnclavePackage package = EnclavePackage.Open(options.PackageDirectory);
        // Inside Gramine only: the back-end the (untrusted) host names is not enough, its device must be there.
        bool underGramine = options.Tee.Resolve() == TeeBackend.SgxGramine && Confide.Tee.Gramine.GramineTee.IsAvailable(options.Tee.GramineRoot);
        EnvironmentGuard.Enforce(package.Manifest, underGramine);
        RefuseSimulationOnRealTee(options.Tee);
        ITee tee = await options.Tee.CreateAsync(() => new TeeIdentity(
            TeeKind.Simulation,
            package.Identity.MrEnclave,
            package.Identity.MrSigner,
            package.Identity.ProductId,
            package.Identity.SecurityVersion,
            package.Identity.Debug), cancellationToken).ConfigureAwait(false);

        NetworkStream? channel = null;
        string? socketPath = Environment.GetEnvironmentVariable(ChannelVariable);
        string? token = Environment.GetEnvironmentVariable(TokenVariable);
        if (!string.IsNullOrEmpty(socketPath))
        {
            channel = await ConnectAsync(socketPath, token, cancellationToken).ConfigureAwait(false);
        }

        // The token has done its job; enclave code has no business with it.
        Environment.SetEnvironmentVariable(TokenVariable, null);
        return new EnclaveContext(package, tee, channel, options.Calls);
    }

    /// <summary>
    /// The back-end is named by the (untrusted) host. On a machine with a real TEE, a host that asks
    /// for simulation would get the enclave to seal with keys it can read, so that is refused.
    /// </summary>
    private static void RefuseSimulationOnRealTee(TeeOptions tee)
    {
        if (tee.Backend == TeeBackend.Simulation && new TeeOptions { GramineRoot = tee.GramineRoot, Tsm = tee.Tsm }.Resolve() != TeeBackend.Simulation)
        {
            throw new TeeException(TeeError.InvalidRequest,
                "The host asked for the simulation TEE on a machine with a real one (Gramine's /dev/attestation or configfs-tsm); the enclave refuses to run unprotected there.");
        }
    }

    private static async Task<NetworkStream> ConnectAsync(string socketPath, string? tokenHex, CancellationToken cancellationToken)
    {
        byte[] token;
        try
        {
            token = Convert.FromHexString(tokenHex ?? string.Empty);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"{TokenVariable} is not hexadecimal.", ex);
        }

        if (token.Length != Handshake.TokenSize)
        {
            throw new InvalidOperationException($"{TokenVariable} must be {Handshake.TokenSize} bytes.");
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
            var stream = new NetworkStream(socket, ownsSocket: true);
            await Handshake.WriteHelloAsync(stream, token, cancellationToken).ConfigureAwait(false);
            return stream;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
