using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Confide.Enclave.Calls.Contracts;

/// <summary>
/// A contract is a C# interface whose methods are the only calls that may cross the boundary
/// (the counterpart of an EDL <c>trusted</c> or <c>untrusted</c> block). Methods are numbered by
/// name, so both sides agree on ordinals without sharing anything but the interface, and the
/// fingerprint lets them detect that they were built against different versions of it.
/// </summary>
internal sealed class CallContract
{
    private static readonly ConcurrentDictionary<Type, CallContract> Cache = new();

    private readonly Dictionary<MethodInfo, CallMethod> _byMethod;

    private CallContract(Type type, CallMethod[] methods)
    {
        Type = type;
        Methods = methods;
        _byMethod = methods.ToDictionary(m => m.Method);
        var text = new StringBuilder(type.FullName).Append('\n');
        foreach (CallMethod method in methods)
        {
            text.Append(method.Signature).Append('\n');
        }

        Fingerprint = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
    }

    public Type Type { get; }

    /// <summary>Methods ordered by ordinal.</summary>
    public IReadOnlyList<CallMethod> Methods { get; }

    public byte[] Fingerprint { get; }

    /// <summary>The contract for <paramref name="type"/>; throws <see cref="ArgumentException"/> naming what is not allowed.</summary>
    public static CallContract For(Type type) => Cache.GetOrAdd(type, Describe);

    /// <summary>A fingerprint for "no contract" (all zero), used when a side exposes nothing.</summary>
    public static byte[] NoFingerprint => new byte[32];

    public CallMethod this[MethodInfo method] => _byMethod[method];

    public bool TryGet(ushort ordinal, out CallMethod? method)
    {
        method = ordinal < Methods.Count ? Methods[ordinal] : null;
        return method is not null;
    }

    private static CallContract Describe(Type type)
    {
        if (!type.IsInterface)
        {
            throw new ArgumentException($"An enclave call contract must be an interface; {type.FullName} is not.", nameof(type));
        }

        if (type.IsGenericTypeDefinition || type.ContainsGenericParameters)
        {
            throw new ArgumentException($"An enclave call contract cannot be an open generic type ({type.FullName}).", nameof(type));
        }

        Type[] all = [type, .. type.GetInterfaces()];
        if (all.Any(t => t.GetProperties().Length > 0 || t.GetEvents().Length > 0))
        {
            throw new ArgumentException($"Contract {type.FullName} may declare methods only (no properties or events).", nameof(type));
        }

        MethodInfo[] methods = all.SelectMany(t => t.GetMethods()).Where(m => m.IsAbstract).ToArray();
        if (methods.Length > ushort.MaxValue)
        {
            throw new ArgumentException($"Contract {type.FullName} has too many methods.", nameof(type));
        }

        IGrouping<string, MethodInfo>? overloaded = methods.GroupBy(m => m.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (overloaded is not null)
        {
            throw new ArgumentException($"Contract {type.FullName} overloads '{overloaded.Key}'; call names must be unique.", nameof(type));
        }

        Array.Sort(methods, (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var described = new CallMethod[methods.Length];
        for (int i = 0; i < methods.Length; i++)
        {
            described[i] = DescribeMethod(type, methods[i], (ushort)i);
        }

        return new CallContract(type, described);
    }

    private static CallMethod DescribeMethod(Type contract, MethodInfo method, ushort ordinal)
    {
        string where = $"{contract.FullName}.{method.Name}";
        if (method.IsGenericMethodDefinition)
        {
            throw new ArgumentException($"{where} is generic; contract methods cannot be.", nameof(contract));
        }

        (ReturnShape shape, Type? resultType) = method.ReturnType switch
        {
            Type t when t == typeof(Task) => (ReturnShape.Task, null),
            Type t when t == typeof(ValueTask) => (ReturnShape.ValueTask, null),
            { IsGenericType: true } t when t.GetGenericTypeDefinition() == typeof(Task<>) => (ReturnShape.TaskOfT, t.GetGenericArguments()[0]),
            { IsGenericType: true } t when t.GetGenericTypeDefinition() == typeof(ValueTask<>) => (ReturnShape.ValueTaskOfT, t.GetGenericArguments()[0]),
            _ => throw new ArgumentException($"{where} returns {method.ReturnType.Name}; calls cross a process boundary and must return Task, Task<T>, ValueTask or ValueTask<T>.", nameof(contract)),
        };

        ParameterInfo[] parameters = method.GetParameters();
        int tokenIndex = -1;
        var codecs = new List<ValueCodec>();
        for (int i = 0; i < parameters.Length; i++)
        {
            ParameterInfo parameter = parameters[i];
            if (parameter.ParameterType.IsByRef || parameter.IsOut)
            {
                throw new ArgumentException($"{where}: parameter '{parameter.Name}' is ref/out; return results instead.", nameof(contract));
            }

            if (parameter.ParameterType == typeof(CancellationToken))
            {
                if (i != parameters.Length - 1)
                {
                    throw new ArgumentException($"{where}: a CancellationToken must be the last parameter.", nameof(contract));
                }

                tokenIndex = i;
                continue;
            }

            codecs.Add(ValueCodec.For(parameter.ParameterType));
        }

        return new CallMethod
        {
            Method = method,
            Ordinal = ordinal,
            Parameters = codecs.ToArray(),
            CancellationTokenIndex = tokenIndex,
            Shape = shape,
            Result = resultType is null ? null : ValueCodec.For(resultType),
            AdaptResult = Adapter(shape, resultType),
            AwaitResult = Awaiter(shape, resultType),
        };
    }

    private static Func<Task<object?>, object> Adapter(ReturnShape shape, Type? resultType) => shape switch
    {
        ReturnShape.Task => static t => t,
        ReturnShape.ValueTask => static t => new ValueTask(t),
        ReturnShape.TaskOfT => Generic<Func<Task<object?>, object>>(nameof(AdaptTask), resultType!),
        _ => Generic<Func<Task<object?>, object>>(nameof(AdaptValueTask), resultType!),
    };

    private static Func<object, Task<object?>> Awaiter(ReturnShape shape, Type? resultType) => shape switch
    {
        ReturnShape.Task => static async t => { await ((Task)t).ConfigureAwait(false); return null; },
        ReturnShape.ValueTask => static async t => { await ((ValueTask)t).ConfigureAwait(false); return null; },
        ReturnShape.TaskOfT => Generic<Func<object, Task<object?>>>(nameof(AwaitTask), resultType!),
        _ => Generic<Func<object, Task<object?>>>(nameof(AwaitValueTask), resultType!),
    };

    private static TDelegate Generic<TDelegate>(string name, Type type)
        where TDelegate : Delegate =>
        typeof(CallContract).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type).CreateDelegate<TDelegate>();

    private static object AdaptTask<T>(Task<object?> task) => Cast<T>(task);

    private static object AdaptValueTask<T>(Task<object?> task) => new ValueTask<T>(Cast<T>(task));

    private static async Task<T> Cast<T>(Task<object?> task) => (T)(await task.ConfigureAwait(false))!;

    private static async Task<object?> AwaitTask<T>(object task) => await ((Task<T>)task).ConfigureAwait(false);

    private static async Task<object?> AwaitValueTask<T>(object task) => await ((ValueTask<T>)task).ConfigureAwait(false);
}
