using System.Runtime.ExceptionServices;

namespace Fednl.Algorithms;

/// <summary>
/// A dedicated thread that runs one piece of work while the caller does another — the server folds the S_i into H
/// while it solves with the H of before — without allocating per call, so the round loop stays allocation-free.
/// </summary>
internal sealed class SideThread : IDisposable
{
    private readonly Thread _thread;
    private readonly SemaphoreSlim _start = new(0), _done = new(0);
    private Action? _work;
    private Exception? _error;
    private volatile bool _stopping;

    public SideThread(string name)
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Starts <paramref name="work"/> on the side thread; pair every call with <see cref="Wait"/>.</summary>
    public void Start(Action work)
    {
        _work = work;
        _start.Release();
    }

    /// <summary>Waits for the started work; rethrows what it threw.</summary>
    public void Wait()
    {
        _done.Wait();
        if (_error is { } error)
        {
            _error = null;
            ExceptionDispatchInfo.Throw(error);
        }
    }

    private void Loop()
    {
        while (true)
        {
            _start.Wait();
            if (_stopping) return;
            try
            {
                _work!();
            }
            catch (Exception e)
            {
                _error = e;
            }
            _done.Release();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _start.Release();
        _thread.Join();
        _start.Dispose();
        _done.Dispose();
    }
}
