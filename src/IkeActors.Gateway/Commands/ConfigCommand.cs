using System.CommandLine;

namespace IkeActors.Gateway.Commands;

/// <summary>`ikeactors config …`: commands about ASA configuration files.</summary>
internal static class ConfigCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var config = new Command("config", "Work with ASA configuration files");
        config.Subcommands.Add(ConfigCheckCommand.Create(output, error));
        return config;
    }
}
