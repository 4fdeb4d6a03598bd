using Mono.Cecil.Cil;
using Mono.Cecil;

namespace Fednl.Tests.Architecture;

/// <summary>
/// The library's namespaces form layers, and a layer uses only the layers below it. Checked on the compiled
/// assemblies: every type a type's signatures, fields, base types, attributes and method bodies (IL operands)
/// refer to, so a dependency hidden in a method body counts as much as one in a signature.
/// </summary>
public class LayeringTests
{
    /// <summary>Bottom to top; a namespace may use its own layer's namespaces only when they share a rank.</summary>
    private static readonly string[][] Layers =
    [
        ["Fednl.Compression"],
        ["Fednl.Configuration", "Fednl.Kernels"],
        ["Fednl.Data"],
        ["Fednl.Reporting"],
        ["Fednl.Messages"],
        ["Fednl.Clients"],
        ["Fednl.Algorithms"],
        ["Fednl.Transport"],
        ["Fednl"],
        ["Fednl.Network.Wire"],
        ["Fednl.Network"],
        // the private relay and client build on the network's admission and framing; the client loop reaches them through IPrivateClientMode
        ["Fednl.Network.Private", "Fednl.Network.Grpc"],
    ];

    private static int Rank(string ns)
    {
        for (int r = 0; r < Layers.Length; r++)
            if (Layers[r].Contains(ns)) return r;
        return -1;
    }

    /// <summary>(user type, used type) pairs where the used type lives in a Fednl namespace of a higher layer, or an unknown one.</summary>
    private static List<string> Violations(string assemblyPath)
    {
        using var module = ModuleDefinition.ReadModule(assemblyPath);
        var violations = new SortedSet<string>();
        foreach (var type in module.GetTypes())
        {
            string user = OuterNamespace(type);
            if (!user.StartsWith("Fednl", StringComparison.Ordinal) || user.StartsWith("Fednl.Interop", StringComparison.Ordinal)) continue;
            int rank = Rank(user);
            if (rank < 0)
            {
                violations.Add($"{type.FullName}: namespace {user} has no layer (add it to {nameof(Layers)})");
                continue;
            }
            foreach (var used in UsedTypes(type))
            {
                string target = OuterNamespace(used);
                if (!target.StartsWith("Fednl", StringComparison.Ordinal) || target.StartsWith("Fednl.Interop", StringComparison.Ordinal) || target == user) continue;
                int targetRank = Rank(target);
                if (targetRank < 0 || targetRank >= rank) violations.Add($"{user} -> {target} ({type.FullName} uses {used.FullName})");
            }
        }
        return [.. violations];
    }

    private static string OuterNamespace(TypeReference type)
    {
        while (type.DeclaringType is not null) type = type.DeclaringType;
        return type.Namespace;
    }

    private static IEnumerable<TypeReference> UsedTypes(TypeDefinition type)
    {
        if (type.BaseType is not null) foreach (var t in Expand(type.BaseType)) yield return t;
        foreach (var i in type.Interfaces) foreach (var t in Expand(i.InterfaceType)) yield return t;
        foreach (var a in type.CustomAttributes) yield return a.AttributeType;
        foreach (var f in type.Fields) foreach (var t in Expand(f.FieldType)) yield return t;
        foreach (var p in type.Properties) foreach (var t in Expand(p.PropertyType)) yield return t;
        foreach (var m in type.Methods)
        {
            foreach (var t in Expand(m.ReturnType)) yield return t;
            foreach (var p in m.Parameters) foreach (var t in Expand(p.ParameterType)) yield return t;
            if (!m.HasBody) continue;
            foreach (var v in m.Body.Variables) foreach (var t in Expand(v.VariableType)) yield return t;
            foreach (var instruction in m.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference t:
                        foreach (var e in Expand(t)) yield return e;
                        break;
                    case MemberReference member when member.DeclaringType is not null:
                        foreach (var e in Expand(member.DeclaringType)) yield return e;
                        if (member is MethodReference method)
                        {
                            foreach (var e in Expand(method.ReturnType)) yield return e;
                            foreach (var p in method.Parameters) foreach (var e in Expand(p.ParameterType)) yield return e;
                        }
                        else if (member is FieldReference field)
                        {
                            foreach (var e in Expand(field.FieldType)) yield return e;
                        }
                        break;
                }
            }
        }
    }

    /// <summary>A type and the types inside it: array elements, generic arguments, by-ref targets.</summary>
    private static IEnumerable<TypeReference> Expand(TypeReference type)
    {
        switch (type)
        {
            case GenericInstanceType generic:
                foreach (var t in Expand(generic.ElementType)) yield return t;
                foreach (var argument in generic.GenericArguments) foreach (var t in Expand(argument)) yield return t;
                break;
            case TypeSpecification specification:
                foreach (var t in Expand(specification.ElementType)) yield return t;
                break;
            case GenericParameter:
                break;
            default:
                yield return type;
                break;
        }
    }

    private static string AssemblyOf(Type type) => type.Assembly.Location;

    [Test]
    public void The_library_namespaces_use_only_lower_layers()
    {
        var violations = Violations(AssemblyOf(typeof(FedNLTrainer)));
        Assert.That(violations, Is.Empty, "namespace loops or upward uses in Fednl.dll:\n" + string.Join("\n", violations));
    }

    [Test]
    public void The_network_assembly_uses_only_lower_layers()
    {
        var violations = Violations(AssemblyOf(typeof(Fednl.Network.NetworkMaster)));
        Assert.That(violations, Is.Empty, "upward uses in Fednl.Network.dll:\n" + string.Join("\n", violations));
    }

    [Test]
    public void The_library_does_not_reference_the_network_or_asp_net_core()
    {
        using var module = ModuleDefinition.ReadModule(AssemblyOf(typeof(FedNLTrainer)));
        var references = module.AssemblyReferences.Select(r => r.Name).ToArray();
        Assert.That(references, Has.None.StartsWith("Microsoft.AspNetCore").And.None.StartsWith("Grpc").And.None.EqualTo("Fednl.Network"),
            "a host that only trains in-process must not load a network stack");
    }

    [Test]
    public void The_check_finds_an_upward_use_in_a_method_body()
    {
        // The test assembly's own fixture type below lives in Fednl.Data and calls Fednl.Algorithms in a body only.
        var violations = Violations(typeof(Fednl.Data.LayeringFixture).Assembly.Location);
        Assert.That(violations, Has.Some.Contains("Fednl.Data -> Fednl.Algorithms"), string.Join("\n", violations));
    }
}
