using System.Runtime.InteropServices;

namespace Confide.Tee.Tests.Support;

/// <summary>
/// Replaces a configfs-tsm entry's <c>outblob</c> with a FIFO and serves it from a thread, so a
/// test can act at the moment the back-end opens it: <c>onOpen(n)</c> runs on the n-th open,
/// before the content is written (e.g. to change <c>generation</c>, as a concurrent writer would).
/// </summary>
/// <remarks>
/// The thread polls for a reader with a non-blocking open (ENXIO while there is none), so it
/// never blocks and can always stop. A FIFO's writer end opens as long as any reader holds it,
/// so after serving a read the thread must not reopen until that reader has gone: it deletes
/// <c>inblob</c> before closing the FIFO and waits until the back-end writes <c>inblob</c>
/// again, which it only does when it starts its next attempt, after closing <c>outblob</c>.
/// </remarks>
internal sealed partial class FifoOutblob : IDisposable
{
    private const int OWronly = 0x1;
    private const int ONonblock = 0x800;
    private const int OCloexec = 0x80000;
    private const int Enxio = 6;
    private const int Eagain = 11;
    private const int Eintr = 4;

    private readonly string _fifo;
    private readonly string _inblob;
    private readonly byte[] _content;
    private readonly Action<int> _onOpen;
    private readonly Thread _thread;
    private volatile bool _stop;
    private int _served;

    public FifoOutblob(string entry, byte[] content, Action<int> onOpen)
    {
        _fifo = Path.Combine(entry, "outblob");
        _inblob = Path.Combine(entry, "inblob");
        _content = content;
        _onOpen = onOpen;

        File.Delete(_fifo);
        if (MkFifo(_fifo, 0b110_000_000) != 0)
        {
            throw new IOException($"mkfifo {_fifo} failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "outblob FIFO" };
        _thread.Start();
    }

    /// <summary>How many times a reader opened the FIFO and was served.</summary>
    public int Served => Volatile.Read(ref _served);

    /// <summary>What went wrong on the serving thread, if anything.</summary>
    public Exception? Error { get; private set; }

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(10));
    }

    private void Run()
    {
        try
        {
            while (!_stop)
            {
                int fd = Open(_fifo, OWronly | ONonblock | OCloexec);
                if (fd < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno is Enxio or Eintr)
                    {
                        Thread.Sleep(1); // no reader yet
                        continue;
                    }

                    throw new IOException($"open {_fifo} for writing failed: errno {errno}");
                }

                try
                {
                    _onOpen(Interlocked.Increment(ref _served));
                    WriteAll(fd, _content);
                    File.Delete(_inblob);
                }
                finally
                {
                    Close(fd);
                }

                while (!_stop && !File.Exists(_inblob))
                {
                    Thread.Sleep(1);
                }
            }
        }
        catch (Exception ex)
        {
            Error = ex;
        }
    }

    private static void WriteAll(int fd, byte[] content)
    {
        int offset = 0;
        while (offset < content.Length)
        {
            nint written = Write(fd, ref content[offset], content.Length - offset);
            if (written < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is Eagain or Eintr)
                {
                    Thread.Sleep(1); // pipe full until the reader catches up
                    continue;
                }

                throw new IOException($"write to the outblob FIFO failed: errno {errno}");
            }

            offset += (int)written;
        }
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, ref byte buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
