global using IkeActors.Config.Lookup;
global using IkeActors.Config.Model;
global using WireDhGroup = IkeActors.Protocol.DhGroup;
