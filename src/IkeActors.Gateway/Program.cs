using IkeActors.Gateway.Commands;

return CliApp.Run(args);
