using System.Reflection;

namespace Confide.Enclave.Calls.Contracts;

/// <summary>How a contract method returns.</summary>
internal enum ReturnShape
{
    Task,
    TaskOfT,
    ValueTask,
    ValueTaskOfT,
}

/// <summary>One declared call: its wire ordinal and how its arguments and result are encoded.</summary>
internal sealed class CallMethod
{
    public required MethodInfo Method { get; init; }

    public required ushort Ordinal { get; init; }

    public required ValueCodec[] Parameters { get; init; }

    /// <summary>Index of the trailing CancellationToken parameter, or -1.</summary>
    public required int CancellationTokenIndex { get; init; }

    public required ReturnShape Shape { get; init; }

    /// <summary>The codec of T for Task&lt;T&gt; / ValueTask&lt;T&gt;; null for Task / ValueTask.</summary>
    public required ValueCodec? Result { get; init; }

    /// <summary>Caller side: turns the channel's Task&lt;object?&gt; into the declared return type.</summary>
    public required Func<Task<object?>, object> AdaptResult { get; init; }

    /// <summary>Callee side: awaits whatever the implementation returned and yields its result.</summary>
    public required Func<object, Task<object?>> AwaitResult { get; init; }

    public string Name => Method.Name;

    /// <summary>
    /// The method's shape in assembly-neutral type names: host and enclave may compile the same
    /// contract into different assemblies, and must still agree.
    /// </summary>
    public string Signature =>
        $"{Method.Name}({string.Join(",", Method.GetParameters().Select(p => TypeName(p.ParameterType)))})->{TypeName(Method.ReturnType)}";

    private static string TypeName(Type type) => type.IsGenericType
        ? $"{type.Namespace}.{type.Name}[{string.Join(",", type.GetGenericArguments().Select(TypeName))}]"
        : type.IsArray ? $"{TypeName(type.GetElementType()!)}[]" : $"{type.Namespace}.{type.Name}";
}
