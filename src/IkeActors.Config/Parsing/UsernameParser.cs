using IkeActors.Config.Model;

namespace IkeActors.Config.Parsing;

/// <summary>
/// The local user database (Cisco ASA command reference, `username`):
/// `username NAME password PASSWORD [encrypted|pbkdf2|nt-encrypted] [privilege N]`,
/// `username NAME nopassword [privilege N]`, and `username NAME attributes` with, under it,
/// `vpn-framed-ip-address IP [MASK]`, `vpn-group-policy NAME`, `service-type remote-access|admin|nas-prompt`
/// and `vpn-simultaneous-logins N`. The password never appears in a diagnostic (<see cref="SecretMasker"/>).
/// </summary>
internal sealed class UsernameParser(AsaConfigBuilder config, SourceIndex sources, List<ConfigDiagnostic> diagnostics)
    : CommandFamilyParser(config, sources, diagnostics)
{
    /// <summary>Username attributes the ASA knows that this gateway does not model (not interpreted).</summary>
    internal static readonly HashSet<string> OtherAttributes = new(StringComparer.OrdinalIgnoreCase)
    {
        "vpn-framed-ipv6-address", "vpn-idle-timeout", "vpn-session-timeout", "vpn-filter", "ipv6-vpn-filter", "vpn-tunnel-protocol",
        "password-storage", "group-lock", "vpn-access-hours", "webvpn", "memberof", "ssh", "email", "banner", "dhcp-network-scope",
    };

    internal static readonly string[] Attributes = ["vpn-framed-ip-address", "vpn-group-policy", "service-type", "vpn-simultaneous-logins"];

    private static readonly string[] PasswordOptions = ["encrypted", "pbkdf2", "nt-encrypted", "privilege", "mschap"];

    /// <summary>`username NAME password …`, `username NAME nopassword …` or `username NAME attributes`.</summary>
    public SubMode ParseUsername(CommandCursor c)
    {
        c.Next("username");
        var nameColumn = c.Column;
        var name = c.Name("user name", 64);
        var what = c.Keyword("password", "nopassword", "attributes");
        var users = Config.Users;
        var index = users.FindIndex(u => u.Name == name);
        if (what == "attributes")
        {
            c.End();
            if (index < 0)
                throw c.InvalidAt(nameColumn, $"user '{name}' does not exist: `username {name} password …` must come first", "user name");
            return new SubMode(SubModeKind.UsernameAttributes, name);
        }

        UserPassword? password = null;
        var valueColumn = c.Column;
        if (what == "password")
        {
            var secret = c.Next("password", "password");
            // After the password only these keywords may follow: a second word means a password with a space.
            if (!c.AtEnd && !PasswordOptions.Contains(c.Peek!.Value.Text, StringComparer.OrdinalIgnoreCase))
                throw c.Invalid("a password is one word: it cannot contain spaces", "encrypted", "pbkdf2", "nt-encrypted", "privilege", "end of command");
            var form = PasswordForm.Clear;
            if (!c.AtEnd && !c.PeekIs("privilege"))
            {
                form = c.Keyword("encrypted", "pbkdf2", "nt-encrypted", "mschap") switch
                {
                    "encrypted" => PasswordForm.Encrypted,
                    "pbkdf2" => PasswordForm.Pbkdf2,
                    "nt-encrypted" => PasswordForm.NtEncrypted,
                    _ => throw NotInterpreted(), // `mschap`: a clear password kept for MS-CHAP (L2TP), not modelled
                };
            }
            CheckPassword(c, secret, form);
            password = new UserPassword(secret.Text, form);
            if (password.IsMaskPlaceholder)
                Warn(c, secret.Column, "password is the mask '*****' that `show running-config` prints, not a real password (copy the configuration from `more system:running-config`)");
        }
        var privilege = AsaDefaults.UserPrivilege;
        if (c.TryKeyword("privilege")) privilege = c.Int(0, AsaDefaults.UserPrivilegeMax, "privilege level");
        c.End();

        if (index < 0) users.Add(new LocalUser(name) { Password = password, Privilege = privilege });
        else
        {
            // A second definition changes the password, as on the ASA; a saved configuration never has two.
            Warn(c, nameColumn, $"user '{name}' is defined again (line {Sources.UserLines.GetValueOrDefault((name, ""))?.Location.Line}): this line's password and privilege replace the earlier ones");
            users[index] = users[index] with { Password = password, Privilege = privilege };
        }
        Sources.UserLines[(name, "")] = Sources.At(c, valueColumn);
        return SubMode.None;
    }

    /// <summary>One line under `username NAME attributes`.</summary>
    public void ParseAttribute(CommandCursor c, string userName)
    {
        var users = Config.Users;
        var index = users.FindIndex(u => u.Name == userName);
        var user = users[index];
        if (c.Peek is { } first && OtherAttributes.Contains(first.Text)) throw NotInterpreted();
        var what = c.Keyword(Attributes);
        var valueColumn = c.Column;
        switch (what)
        {
            case "vpn-framed-ip-address":
            {
                if (c.Peek is { } v6 && IsIpv6(v6.Text)) throw NotInterpreted();
                var address = c.Address("framed IP address");
                uint? mask = c.AtEnd ? null : c.Mask();
                c.End();
                user = user with { FramedAddress = new FramedAddress(address, mask) };
                break;
            }
            case "vpn-group-policy":
            {
                var policy = c.Name("group-policy name", 64);
                c.End();
                Sources.AddReference(ReferenceKind.GroupPolicy, policy, c, valueColumn, $"username {userName} vpn-group-policy");
                user = user with { VpnGroupPolicy = policy };
                break;
            }
            case "service-type":
            {
                var type = c.Keyword("remote-access", "admin", "nas-prompt") switch
                {
                    "remote-access" => UserServiceType.RemoteAccess,
                    "admin" => UserServiceType.Admin,
                    _ => UserServiceType.NasPrompt,
                };
                c.End();
                user = user with { ServiceType = type };
                break;
            }
            default:
                user = user with { SimultaneousLogins = c.Int(0, AsaDefaults.SimultaneousLoginsMax, "simultaneous logins") };
                c.End();
                break;
        }
        users[index] = user;
        Sources.UserLines[(userName, what)] = Sources.At(c, valueColumn);
    }

    /// <summary>
    /// A clear password: 3-127 printable ASCII characters (a space ends it, so none inside); a hash:
    /// printable ASCII, at most 256. The message never quotes it.
    /// </summary>
    private static void CheckPassword(CommandCursor c, Token secret, PasswordForm form)
    {
        for (var i = 0; i < secret.Text.Length; i++)
        {
            if (secret.Text[i] is < '!' or > '~')
                throw c.InvalidAt(secret.Column + i, "password contains a character outside printable ASCII", "password");
        }
        var max = form == PasswordForm.Clear ? AsaDefaults.PasswordMaxLength : AsaDefaults.PasswordHashMaxLength;
        if (secret.Text.Length > max)
            throw c.InvalidAt(secret.Column, $"password is longer than {max} characters", "password");
        if (form == PasswordForm.Clear && secret.Text.Length < AsaDefaults.PasswordMinLength)
            throw c.InvalidAt(secret.Column, $"password is shorter than {AsaDefaults.PasswordMinLength} characters", "password");
    }
}
