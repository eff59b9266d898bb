using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Acornima.Ast;
using Jint;
using Jint.Native;
using Jint.Runtime;
using Jint.Runtime.Interop;

namespace Confide.Ledger.Governance.Constitution;

/// <summary>
/// The <c>ccf</c> global of CCF's governance JavaScript: <c>ccf.kv["map"]</c> with
/// <c>get/has/set/delete/clear/forEach</c> on ArrayBuffers, the converters <c>strToBuf</c>,
/// <c>bufToStr</c>, <c>jsonCompatibleToBuf</c>, <c>bufToJsonCompatible</c>, <c>pemToId</c>, and
/// <c>ccf.crypto.isValidX509CertBundle/digest</c>; plus a silent <c>console</c>.
/// </summary>
/// <remarks>
/// Only plain JavaScript functions cross into the script: no CLR object is ever handed out, so
/// there is nothing to reflect on. Misuse is a JavaScript TypeError the script can catch.
/// </remarks>
internal static class CcfBindings
{
    // Assembled in JavaScript so that ccf.kv can be a Proxy (any map name is a property) and the
    // JSON converters use the engine's own JSON; the natives stay out of the global scope.
    private const string Prelude = """
        (function (native, mapNamed) {
          "use strict";
          const kv = new Proxy(Object.create(null), {
            get(_, name) { return typeof name === "string" ? mapNamed(name) : undefined; },
            set() { throw new TypeError("ccf.kv cannot be assigned to; write through a map's set()"); },
          });
          const crypto = Object.freeze({
            isValidX509CertBundle: native.isValidX509CertBundle,
            digest: native.digest,
          });
          return Object.freeze({
            strToBuf: native.strToBuf,
            bufToStr: native.bufToStr,
            jsonCompatibleToBuf(value) { return native.strToBuf(JSON.stringify(value)); },
            bufToJsonCompatible(buffer) { return JSON.parse(native.bufToStr(buffer)); },
            pemToId: native.pemToId,
            isValidX509CertBundle: native.isValidX509CertBundle,
            crypto,
            kv,
          });
        })
        """;

    private static readonly Prepared<Script> PreparedPrelude = Engine.PrepareScript(Prelude, "ccf-bindings");

    /// <summary>Defines <c>ccf</c> and <c>console</c> in <paramref name="engine"/>, reading and writing through <paramref name="kv"/>.</summary>
    public static void Install(Engine engine, ScriptKv kv)
    {
        var native = new JsObject(engine);
        Define(native, engine, "strToBuf", 1, args => Buffer(engine, Encoding.UTF8.GetBytes(StringArgument(engine, args, 0, "ccf.strToBuf"))));
        Define(native, engine, "bufToStr", 1, args => Encoding.UTF8.GetString(BufferArgument(engine, args, 0, "ccf.bufToStr")));
        Define(native, engine, "pemToId", 1, args => PemToId(engine, StringArgument(engine, args, 0, "ccf.pemToId")));
        Define(native, engine, "isValidX509CertBundle", 1, args => IsCertificateBundle(StringArgument(engine, args, 0, "ccf.crypto.isValidX509CertBundle")));
        Define(native, engine, "digest", 2, args => Digest(engine, args));

        var maps = new Dictionary<string, JsValue>(StringComparer.Ordinal);
        var mapNamed = new ClrFunction(engine, "mapNamed", (_, args) =>
        {
            string name = args[0].AsString();
            if (!maps.TryGetValue(name, out JsValue? map))
            {
                map = CreateMap(engine, kv, name);
                maps.Add(name, map);
            }

            return map;
        });

        JsValue factory = engine.Evaluate(PreparedPrelude);
        engine.SetValue("ccf", engine.Call(factory, native, mapNamed));
        engine.SetValue("console", CreateSilentConsole(engine));
    }

    private static JsObject CreateMap(Engine engine, ScriptKv kv, string name)
    {
        if (kv.RefuseRead(name) is string refusal)
        {
            throw TypeError(engine, refusal);
        }

        var map = new JsObject(engine);
        Define(map, engine, "get", 1, args => kv.Get(name, BufferArgument(engine, args, 0, $"{name}.get")) is byte[] value ? Buffer(engine, value) : JsValue.Undefined);
        Define(map, engine, "has", 1, args => kv.Get(name, BufferArgument(engine, args, 0, $"{name}.has")) is not null);
        Define(map, engine, "set", 2, args =>
        {
            RefuseWrite(engine, kv, name);
            kv.Set(name, BufferArgument(engine, args, 0, $"{name}.set"), BufferArgument(engine, args, 1, $"{name}.set"));
            return map;
        });
        Define(map, engine, "delete", 1, args =>
        {
            RefuseWrite(engine, kv, name);
            kv.Delete(name, BufferArgument(engine, args, 0, $"{name}.delete"));
            return JsValue.Undefined;
        });
        Define(map, engine, "clear", 0, args =>
        {
            RefuseWrite(engine, kv, name);
            foreach ((byte[] key, _) in kv.Entries(name))
            {
                kv.Delete(name, key);
            }

            return JsValue.Undefined;
        });
        Define(map, engine, "forEach", 1, args =>
        {
            JsValue callback = args.Length > 0 ? args[0] : JsValue.Undefined;
            if (!callback.IsCallable())
            {
                throw TypeError(engine, $"{name}.forEach takes a function (value, key, map)");
            }

            foreach ((byte[] key, byte[] value) in kv.Entries(name))
            {
                engine.Call(callback, JsValue.Undefined, [Buffer(engine, value), Buffer(engine, key), map]);
            }

            return JsValue.Undefined;
        });
        return map;
    }

    private static JsObject CreateSilentConsole(Engine engine)
    {
        // CCF routes console output to the node's log; governance has no log here, and output must
        // not become a side channel, so it is dropped.
        var console = new JsObject(engine);
        foreach (string level in new[] { "log", "info", "warn", "error", "debug" })
        {
            Define(console, engine, level, 0, _ => JsValue.Undefined);
        }

        return console;
    }

    private static void Define(JsObject target, Engine engine, string name, int length, Func<JsValue[], JsValue> body) =>
        target.FastSetDataProperty(name, new ClrFunction(engine, name, (_, args) => body(args), length));

    private static void RefuseWrite(Engine engine, ScriptKv kv, string name)
    {
        if (kv.RefuseWrite(name) is string refusal)
        {
            throw TypeError(engine, refusal);
        }
    }

    private static JsValue Buffer(Engine engine, byte[] bytes) => engine.Intrinsics.ArrayBuffer.Construct(bytes);

    private static byte[] BufferArgument(Engine engine, JsValue[] args, int index, string function)
    {
        JsValue value = index < args.Length ? args[index] : JsValue.Undefined;
        if (!value.IsArrayBuffer())
        {
            throw TypeError(engine, $"{function}: argument {index + 1} must be an ArrayBuffer");
        }

        return (byte[])value.AsArrayBuffer()!.Clone();
    }

    private static string StringArgument(Engine engine, JsValue[] args, int index, string function)
    {
        JsValue value = index < args.Length ? args[index] : JsValue.Undefined;
        return value.IsString() ? value.AsString() : throw TypeError(engine, $"{function}: argument {index + 1} must be a string");
    }

    private static JsValue PemToId(Engine engine, string pem)
    {
        try
        {
            using X509Certificate2 certificate = X509Certificate2.CreateFromPem(pem);
            return GovernanceMaps.IdOf(certificate);
        }
        catch (CryptographicException ex)
        {
            throw TypeError(engine, $"ccf.pemToId: not a PEM certificate ({ex.Message})");
        }
    }

    private static JsValue IsCertificateBundle(string pem)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(pem);
            return certificates.Count > 0;
        }
        catch (CryptographicException)
        {
            return false;
        }
        finally
        {
            foreach (X509Certificate2 certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }

    private static JsValue Digest(Engine engine, JsValue[] args)
    {
        string algorithm = StringArgument(engine, args, 0, "ccf.crypto.digest");
        byte[] data = BufferArgument(engine, args, 1, "ccf.crypto.digest");
        return algorithm == "SHA-256"
            ? Buffer(engine, SHA256.HashData(data))
            : throw TypeError(engine, $"ccf.crypto.digest: unsupported algorithm '{algorithm}' (SHA-256 is)");
    }

    private static JavaScriptException TypeError(Engine engine, string message) => new(engine.Intrinsics.TypeError, message);
}
