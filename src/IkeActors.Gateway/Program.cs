using IkeActors.Gateway.Commands;
using IkeActors.Gateway.Hosting;

LongRunningTiering.Apply(args);
return CliApp.Run(args);
