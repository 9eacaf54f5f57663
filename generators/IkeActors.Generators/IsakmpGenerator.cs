using Microsoft.CodeAnalysis;

namespace IkeActors.Generators;

[Generator(LanguageNames.CSharp)]
public sealed class IsakmpGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
    }
}
