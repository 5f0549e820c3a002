using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Oakley.Host;

/// <summary>
/// How the engine thread sleeps: one <c>poll</c> over its own IKE sockets and an eventfd that other threads
/// write to when they queue work. A producer writes the eventfd only while the engine has announced that it is
/// about to sleep, so a busy engine costs its producers no system call and nobody spins or yields.
/// </summary>
internal sealed unsafe partial class EngineWake : IDisposable
{
    private const int EfdNonBlock = 0x800;
    private const int EfdCloexec = 0x80000;
    private readonly SafeFileHandle _handle; // a producer racing Dispose never writes to a reused descriptor
    private readonly int _fd;
    private int _sleeping;

    public EngineWake()
    {
        _fd = EventFd(0, EfdNonBlock | EfdCloexec);
        if (_fd < 0)
        {
            throw new IOException($"eventfd failed (errno {LinuxIo.Errno})");
        }

        _handle = new SafeFileHandle(_fd, ownsHandle: true);
    }

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    /// <summary>Called by a producer after it queued work: wakes the engine if it is (about to be) asleep.</summary>
    public void Wake()
    {
        if (Interlocked.CompareExchange(ref _sleeping, 0, 1) == 1)
        {
            Signal();
        }
    }

    /// <summary>Wakes the engine unconditionally (stopping).</summary>
    public void Signal()
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            ulong one = 1;
            _ = LinuxIo.Write(_fd, (byte*)&one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
            // The host is gone: nobody to wake.
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// The engine announces that it will sleep. It must check its queue after this call and before
    /// <see cref="Sleep"/>; work queued after the check finds the announcement and signals.
    /// </summary>
    public void Announce() => Interlocked.Exchange(ref _sleeping, 1);

    /// <summary>The engine found work after all: withdraw the announcement.</summary>
    public void Withdraw() => Volatile.Write(ref _sleeping, 0);

    /// <summary>
    /// Sleeps until a producer signals, one of <paramref name="sockets"/> is readable, or
    /// <paramref name="timeoutMs"/> passes (-1: no timeout); then withdraws the announcement and clears the eventfd.
    /// </summary>
    public void Sleep(ReadOnlySpan<int> sockets, int timeoutMs)
    {
        Span<LinuxIo.PollFd> polls = stackalloc LinuxIo.PollFd[sockets.Length + 1];
        polls[0] = new LinuxIo.PollFd { Fd = _fd, Events = LinuxIo.PollIn };
        for (var i = 0; i < sockets.Length; i++)
        {
            polls[i + 1] = new LinuxIo.PollFd { Fd = sockets[i], Events = LinuxIo.PollIn };
        }

        fixed (LinuxIo.PollFd* p = polls)
        {
            _ = LinuxIo.Poll(p, (nuint)polls.Length, timeoutMs);
        }

        Withdraw();
        if ((polls[0].Returned & LinuxIo.PollIn) != 0)
        {
            ulong count;
            _ = LinuxIo.Read(_fd, (byte*)&count, sizeof(ulong));
        }
    }

    public void Dispose() => _handle.Dispose();
}
