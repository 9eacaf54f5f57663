global using IkeActors.Config.Lookup;
global using IkeActors.Config.Model;
