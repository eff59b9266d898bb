using System.Reflection;
using Confide.Enclave.Calls.Protocol;

namespace Confide.Enclave.Calls.Contracts;

/// <summary>
/// The caller's view of a contract: a generated implementation of the interface whose every method
/// encodes its arguments and sends them over the channel. Only interface methods exist on it, so
/// nothing but declared calls can be made.
/// </summary>
public class CallProxy : DispatchProxy
{
    private CallChannel? _channel;
    private CallContract? _contract;

    internal static TContract Create<TContract>(CallChannel channel)
        where TContract : class
    {
        TContract proxy = Create<TContract, CallProxy>();
        var self = (CallProxy)(object)proxy;
        self._channel = channel;
        self._contract = CallContract.For(typeof(TContract));
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        CallMethod method = _contract![targetMethod];
        CancellationToken token = method.CancellationTokenIndex >= 0 && args is not null
            ? (CancellationToken)args[method.CancellationTokenIndex]!
            : CancellationToken.None;
        return method.AdaptResult(_channel!.InvokeAsync(method, args, token));
    }
}
