using IkeActors.Gateway.Commands;
using IkeActors.Gateway.Hosting;

LongRunningCompilation.Apply(args);
return CliApp.Run(args);
