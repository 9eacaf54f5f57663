using System.CommandLine;

var root = new RootCommand("IkeActors: a clustered IKEv1 VPN concentrator");
return root.Parse(args).Invoke();
