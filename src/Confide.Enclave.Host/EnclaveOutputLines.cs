using System.Text;

namespace Confide.Enclave.Hosting;

/// <summary>
/// A <see cref="TextWriter"/> for <see cref="EnclaveHostOptions.StandardOutput"/> that keeps the
/// lines an enclave prints and lets the launcher wait for one, e.g. the URL a server inside the
/// enclave bound to a port chosen at run time. Lines are also passed on to <c>echo</c>, if given.
/// </summary>
public sealed class EnclaveOutputLines(TextWriter? echo = null) : TextWriter
{
    private readonly List<string> _lines = [];
    private readonly SemaphoreSlim _written = new(0);

    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>The lines printed so far.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_lines)
        {
            _lines.Add(value ?? "");
        }

        echo?.WriteLine(value);
        _written.Release();
    }

    /// <summary>The rest of the first line that starts with <paramref name="prefix"/>, or null.</summary>
    public string? Find(string prefix) => Lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..];

    /// <summary>Waits until the enclave prints a line starting with <paramref name="prefix"/> and returns the rest of it.</summary>
    /// <exception cref="EnclaveLaunchException">The enclave exited first, or <paramref name="timeout"/> passed.</exception>
    public async Task<string> WaitForAsync(string prefix, EnclaveHost enclave, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(enclave);
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        string? value;
        while ((value = Find(prefix)) is null)
        {
            if (enclave.HasExited)
            {
                throw new EnclaveLaunchException(EnclaveLaunchError.ExitedDuringStartup, $"The enclave exited with code {enclave.ExitCode} before printing '{prefix.Trim()}'.");
            }

            if (Environment.TickCount64 > deadline)
            {
                throw new EnclaveLaunchException(EnclaveLaunchError.Timeout, $"The enclave did not print '{prefix.Trim()}' within {timeout.TotalSeconds:0} s.");
            }

            await _written.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }

        return value;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _written.Dispose();
        }

        base.Dispose(disposing);
    }
}
