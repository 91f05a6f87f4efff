//! What each command does: read the arguments, call the core, print the result.

use crate::output::{self, print_json};
use crate::{Cli, Command, KeyCommand, LoginCommand, ProfileCommand, SecretsArg};
use clap::Args;
use oauth_desk_core::error::printable;
use oauth_desk_core::providers::salesforce::SalesforceApi;
use oauth_desk_core::providers::wechat::WechatApi;
use oauth_desk_core::request::{self, ApiRequest};
use oauth_desk_core::storage::{
    self, FileLocks, JsonFileProfileStore, KeyringSecretStore, MemorySecretStore, ProfileDocument, SecretKey, SecretStore,
    UnavailableSecretStore,
};
use oauth_desk_core::wire::{export, Exchange, Reveal, WireLog, WireObserver};
use oauth_desk_core::{
    Clock, Desk, Error, ErrorCode, HttpConfig, PasswordCredentials, Profile, Provider, Result, Secret, SystemClock, WhichToken,
};
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug, Default, Clone)]
pub struct SecretArgs {
    /// Read the password from standard input (one line, after the client secret if that is read too).
    #[arg(long)]
    pub password_stdin: bool,
    /// Read the Salesforce security token from standard input (one line, after the password).
    #[arg(long)]
    pub security_token_stdin: bool,
}

#[derive(Args, Debug)]
pub struct RequestArgs {
    pub name: String,
    /// GET, POST, PUT, PATCH, DELETE, ...
    pub method: String,
    /// Absolute URL, or a path relative to the profile's API base (Salesforce: the instance).
    pub url: String,
    /// A header, `Name: value`. Repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(short, long, conflicts_with = "data_file")]
    pub data: Option<String>,
    /// Read the request body from a file (`-` for standard input).
    #[arg(long)]
    pub data_file: Option<PathBuf>,
    /// Print the status line and headers before the body.
    #[arg(short, long)]
    pub include: bool,
}

/// `--trace`: each exchange to standard error as it completes, secrets masked.
struct Trace;

impl WireObserver for Trace {
    fn recorded(&self, log: &WireLog, exchange: &Exchange) {
        eprint!("{}", export::http_text(exchange, &log.redactor(), Reveal::Masked, 4096));
        eprintln!();
    }
}

/// Writes every exchange of this run (all profiles, oldest first) as HAR, secrets masked.
pub fn write_har(desk: &Desk, path: &std::path::Path) -> Result<()> {
    let mut entries: Vec<(i64, u64, serde_json::Value)> = Vec::new();
    for s in desk.sessions() {
        let r = s.log().redactor();
        for e in s.log().exchanges() {
            entries.push((e.started_at, e.id, export::har_entry(&e, &r, Reveal::Masked)));
        }
    }
    entries.sort_by_key(|(at, id, _)| (*at, *id));
    let doc = export::har_document(entries.into_iter().map(|(_, _, e)| e).collect());
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| Error::unexpected(e.to_string()))?;
    text.push('\n');
    oauth_desk_core::storage::write_atomically(path, text.as_bytes())?;
    eprintln!("HTTP exchanges written to {} (HAR 1.2, secrets masked).", path.display());
    Ok(())
}

pub fn open_desk(cli: &Cli) -> Result<Desk> {
    let dir = cli.data_dir.clone().unwrap_or_else(storage::default_data_dir);
    let profiles = JsonFileProfileStore::new(&dir);
    if cli.data_dir.is_none() {
        // Profiles the desktop app kept in its own store before both shells shared this one.
        if let Some(old) = storage::legacy_app_store() {
            match profiles.adopt(&old, SystemClock.now_millis()) {
                Ok(Some(report)) => eprintln!("note: {}", report.describe(&old, &profiles.path().display().to_string())),
                Ok(None) => {}
                Err(e) => eprintln!("warning: the desktop app's old profiles were not brought over: {}", e.message),
            }
        }
    }
    let secrets: Arc<dyn SecretStore> = match cli.secrets {
        SecretsArg::Memory => Arc::new(MemorySecretStore::default()),
        SecretsArg::Keyring => match KeyringSecretStore::open(cli.keyring_service.clone()) {
            Ok(k) => Arc::new(k),
            Err(e) => {
                eprintln!(
                    "note: {}\n  Stored secrets and tokens cannot be read, and anything that must be stored fails.\n  Start a Secret Service (GNOME Keyring, KeePassXC), choose --secrets memory for this run only, or give secrets in OAUTH_DESK_CLIENT_SECRET / OAUTH_DESK_PASSWORD.",
                    e.message
                );
                Arc::new(UnavailableSecretStore::new(&e))
            }
        },
    };
    let config = HttpConfig {
        timeout: Duration::from_secs(cli.timeout.max(1)),
        max_body_bytes: cli.max_body_mib.max(1) * 1024 * 1024,
        ..HttpConfig::default()
    };
    let desk = Desk::reqwest(Box::new(profiles), secrets, config, Arc::new(SystemClock))?
        .recording(cli.trace || cli.har.is_some())
        .renewal_locks(Arc::new(FileLocks::new(dir.join("locks"))));
    Ok(if cli.trace { desk.with_wire_observer(Arc::new(Trace)) } else { desk })
}

/// Secrets read from standard input, one line each, in a fixed order.
#[derive(Default)]
struct StdinSecrets {
    client_secret: Option<Secret>,
    password: Option<Secret>,
    security_token: Option<Secret>,
}

fn read_stdin_secrets(client_secret: bool, s: &SecretArgs) -> Result<StdinSecrets> {
    if !(client_secret || s.password_stdin || s.security_token_stdin) {
        return Ok(StdinSecrets::default());
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut next = |what: &str| -> Result<Option<Secret>> {
        match lines.next() {
            Some(Ok(l)) => Ok(Some(Secret::new(l.trim_end_matches(['\r', '\n']).to_string()))),
            Some(Err(e)) => Err(Error::invalid_input(format!("cannot read the {what} from standard input: {e}"))),
            None => Err(Error::invalid_input(format!("standard input ended before the {what}"))
                .with_hint("give one line per secret: client secret, then password, then security token")),
        }
    };
    Ok(StdinSecrets {
        client_secret: if client_secret { next("client secret")? } else { None },
        password: if s.password_stdin { next("password")? } else { None },
        security_token: if s.security_token_stdin { next("security token")? } else { None },
    })
}

fn store_secrets(desk: &Desk, p: &Profile, s: &StdinSecrets) -> Result<()> {
    for (key, v) in
        [(SecretKey::ClientSecret, &s.client_secret), (SecretKey::Password, &s.password), (SecretKey::SecurityToken, &s.security_token)]
    {
        if let Some(v) = v {
            desk.set_secret(p, key, Some(v))?;
        }
    }
    Ok(())
}

fn warn_if_volatile(desk: &Desk) {
    if !desk.secret_store().is_persistent() {
        eprintln!("note: secrets are in memory only; this token is gone when the command ends");
    }
}

pub async fn run(desk: &Desk, cli: Cli) -> Result<()> {
    match cli.command {
        Command::Profile(cmd) => profile(desk, *cmd),
        Command::Login(cmd) => login(desk, *cmd).await,
        Command::Key(cmd) => key(desk, *cmd),
        Command::Status { json } => status(desk, json),
        Command::SfdxUrl(n) => {
            let p = desk.find(&n.name)?;
            let url = desk.sfdx_url(&p)?;
            eprintln!("warning: this URL holds the refresh token and the client secret of `{}`: anyone who has it can sign in as this user. Keep it like a password.", n.name);
            println!("{}", url.expose());
            Ok(())
        }
        Command::Refresh(n) => {
            let p = desk.find(&n.name)?;
            let session = desk.session(&p)?;
            let t = session.refresh().await?;
            output::token_summary(&p, &t, "refreshed", session.now());
            Ok(())
        }
        Command::Token { name, show_secrets, json } => {
            let p = desk.find(&name)?;
            let t = desk.stored_token(&p)?.ok_or_else(|| {
                Error::new(ErrorCode::NotSignedIn, format!("profile `{name}` has no token"))
                    .with_hint("sign in first")
                    .with_action(oauth_desk_core::Action::SignIn)
            })?;
            let view = output::TokenView::new(&p, &t, show_secrets, desk.clock().now_millis());
            if json {
                print_json(&view)
            } else {
                output::print_token_view(&view);
                Ok(())
            }
        }
        Command::Revoke { name, refresh } => {
            let p = desk.find(&name)?;
            let session = desk.session(&p)?;
            session.revoke(if refresh { WhichToken::Refresh } else { WhichToken::Access }).await?;
            println!("Revoked the {} token of `{name}` and forgot it locally.", if refresh { "refresh" } else { "access" });
            Ok(())
        }
        Command::Logout(n) => {
            let p = desk.find(&n.name)?;
            desk.session(&p)?.forget_token().await?;
            desk.clear_pending(&p)?;
            println!("Forgot the token of `{}` (the provider was not told; use `revoke` for that).", n.name);
            Ok(())
        }
        Command::Introspect { name, refresh } => {
            let v = desk.session_named(&name)?.introspect(if refresh { WhichToken::Refresh } else { WhichToken::Access }).await?;
            print_json(&v)
        }
        Command::Query(args) => crate::query::run(desk, args).await,
        Command::Versions(n) => {
            let session = desk.session_named(&n.name)?;
            let versions = SalesforceApi::of(&session)?.versions().await?;
            for v in versions {
                println!("{}", printable(&format!("{:<8} {:<14} {}", v.version, v.label, v.url)));
            }
            Ok(())
        }
        Command::Identity(n) => {
            let session = desk.session_named(&n.name)?;
            print_json(&SalesforceApi::of(&session)?.identity().await?)
        }
        Command::Userinfo { name, lang } => {
            let p = desk.find(&name)?;
            print_json(&desk.session(&p)?.userinfo(lang.as_deref()).await?)
        }
        Command::Check(n) => {
            let session = desk.session_named(&n.name)?;
            let v = WechatApi::of(&session)?.check().await?;
            println!("The access token of `{}` is valid (sns/auth: {}).", n.name, v.get("errmsg").and_then(|m| m.as_str()).unwrap_or("ok"));
            Ok(())
        }
        Command::Request(args) => send_request(desk, args).await,
        Command::Completions { .. } | Command::Manpage => Ok(()),
    }
}

fn profile(desk: &Desk, cmd: ProfileCommand) -> Result<()> {
    match cmd {
        ProfileCommand::Add { name, kind, fields, secrets } => {
            let kind: oauth_desk_core::ProviderKind = kind.parse()?;
            let mut p = Profile::new(name, "", Provider::default_for(kind));
            fields.apply(&mut p)?;
            p.validate()?;
            let s = read_stdin_secrets(fields.client_secret_stdin, &secrets)?;
            // Secrets first: when they cannot be stored, no profile is left without them.
            store_secrets(desk, &p, &s)?;
            if let Err(e) = desk.save(&p) {
                for key in [SecretKey::ClientSecret, SecretKey::Password, SecretKey::SecurityToken] {
                    let _ = desk.set_secret(&p, key, None);
                }
                return Err(e);
            }
            println!("Created profile `{}` ({}) in {}.", p.name, p.kind().as_str(), desk.profile_location());
            if s.client_secret.is_some() || s.password.is_some() {
                println!("Secrets are kept in: {}.", desk.secret_store().describe());
            }
            Ok(())
        }
        ProfileCommand::Edit { name, rename, fields, secrets, forget_secrets } => {
            let mut p = desk.find(&name)?;
            fields.apply(&mut p)?;
            if let Some(n) = rename {
                p.name = n;
            }
            p.validate()?;
            let s = read_stdin_secrets(fields.client_secret_stdin, &secrets)?;
            desk.save(&p)?;
            if forget_secrets {
                for key in [SecretKey::ClientSecret, SecretKey::Password, SecretKey::SecurityToken, SecretKey::PrivateKey] {
                    desk.set_secret(&p, key, None)?;
                }
            }
            store_secrets(desk, &p, &s)?;
            println!("Saved profile `{}`.", p.name);
            Ok(())
        }
        ProfileCommand::List { json } => {
            let all = desk.list()?;
            if json {
                return print_json(&all);
            }
            if all.is_empty() {
                println!("No profiles in {}. Create one with `oauth-desk profile add NAME --kind salesforce|wechat_official_account|wechat_website|oauth2`.", desk.profile_location());
                return Ok(());
            }
            let now = desk.clock().now_millis();
            let mut table = output::table(&["NAME", "KIND", "CLIENT ID", "TOKEN"]);
            for p in &all {
                let status = match desk.stored_token(p)? {
                    None => "-".to_string(),
                    Some(t) => match t.seconds_left(now) {
                        Some(s) => format!("{} ({})", t.grant.as_str(), crate::time::human(s)),
                        None => t.grant.as_str().to_string(),
                    },
                };
                table.add_row(vec![p.name.clone(), p.kind().as_str().to_string(), p.client_id.clone(), status]);
            }
            println!("{table}");
            Ok(())
        }
        ProfileCommand::Show { name, json } => {
            let p = desk.find(&name)?;
            let stored = |k| desk.has_secret(&p, k);
            let view = serde_json::json!({
                "profile": p,
                "secrets_stored": {
                    "client_secret": stored(SecretKey::ClientSecret)?,
                    "password": stored(SecretKey::Password)?,
                    "security_token": stored(SecretKey::SecurityToken)?,
                    "private_key": stored(SecretKey::PrivateKey)?,
                    "token": stored(SecretKey::Token)?,
                },
                "secret_store": desk.secret_store().describe(),
            });
            if json {
                print_json(&view)
            } else {
                let text = serde_json::to_string_pretty(&view).map_err(|e| Error::unexpected(e.to_string()))?;
                println!("{text}");
                Ok(())
            }
        }
        ProfileCommand::Remove(n) => {
            let p = desk.remove(&n.name)?;
            println!("Removed profile `{}` and its secrets.", p.name);
            Ok(())
        }
        ProfileCommand::Duplicate { name, new_name } => {
            let (p, copied) = desk.duplicate(&name, &new_name)?;
            let what: Vec<&str> = copied.iter().map(|k| k.as_str()).collect();
            let secrets = if what.is_empty() { "no stored secrets to copy".to_string() } else { format!("copied: {}", what.join(", ")) };
            println!("Created `{}` as a copy of `{name}` ({secrets}; sign in to get its own token).", p.name);
            Ok(())
        }
        ProfileCommand::Export { names, out } => {
            let doc = desk.export(&names)?;
            let mut text = serde_json::to_string_pretty(&doc).map_err(|e| Error::unexpected(e.to_string()))?;
            text.push('\n');
            match out {
                Some(path) => {
                    oauth_desk_core::storage::write_atomically(&path, text.as_bytes())?;
                    eprintln!("Exported {} profile(s) to {} (no secrets).", doc.profiles.len(), path.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        ProfileCommand::Import { file, replace } => {
            let text = std::fs::read_to_string(&file).map_err(|e| Error::invalid_input(format!("cannot read {}: {e}", file.display())))?;
            let doc = ProfileDocument::from_json(&text, &file.display().to_string()).map_err(|mut e| {
                e.code = ErrorCode::InvalidInput;
                e
            })?;
            let names = desk.import(doc, replace)?;
            println!(
                "Imported {} profile(s): {}. Add their secrets with `oauth-desk profile edit NAME --client-secret-stdin`.",
                names.len(),
                names.join(", ")
            );
            Ok(())
        }
    }
}

async fn login(desk: &Desk, cmd: LoginCommand) -> Result<()> {
    match cmd {
        LoginCommand::Password { name, username, secrets, remember, json } => {
            let p = desk.find(&name)?;
            let s = read_stdin_secrets(false, &secrets)?;
            let session = desk.session(&p)?;
            let credentials = PasswordCredentials { username, password: s.password.clone(), security_token: s.security_token.clone() };
            let t = session.grant_password(credentials).await?;
            if remember {
                store_secrets(desk, &p, &StdinSecrets { client_secret: None, ..s })?;
            }
            warn_if_volatile(desk);
            output::login_result(&p, &t, json, session.now())
        }
        LoginCommand::Jwt { name, key_file, json } => {
            let p = desk.find(&name)?;
            if let Some(file) = key_file {
                desk.import_private_key(&p, &read_secret_file(&file, "key file")?)?;
            }
            let session = desk.session(&p)?;
            let t = session.grant_jwt_bearer().await?;
            warn_if_volatile(desk);
            output::login_result(&p, &t, json, session.now())
        }
        LoginCommand::Device { name, json } => {
            let p = desk.find(&name)?;
            let session = desk.session(&p)?;
            let d = session.start_device().await?;
            let open = d.verification_uri_complete.clone().unwrap_or_else(|| d.verification_uri.clone());
            eprintln!(
                "To sign in `{name}`, open {} on any device and enter the code:\n\n    {}\n",
                printable(&d.verification_uri),
                printable(&d.user_code)
            );
            if let Ok(code) = qrcode::QrCode::new(open.as_bytes()) {
                let qr = code.render::<qrcode::render::unicode::Dense1x2>().quiet_zone(true).build();
                eprintln!("or scan this (it opens the page with the code filled in):\n{qr}");
            }
            eprintln!("  {}\n", printable(&open));
            let left = (d.expires_at - session.now()) / 1000;
            eprintln!("Waiting for approval (the code expires in {}; Ctrl+C to give up)…", crate::time::human(left));
            let t = session.poll_device(&d).await?;
            warn_if_volatile(desk);
            output::login_result(&p, &t, json, session.now())
        }
        LoginCommand::SfdxUrl { name, sfdx_url_file, json } => {
            let url = read_secret_file(sfdx_url_file.as_deref().unwrap_or(std::path::Path::new("-")), "auth URL file")?;
            let (p, t) = desk.import_sfdx_url(&name, &url).await?;
            warn_if_volatile(desk);
            output::login_result(&p, &t, json, desk.clock().now_millis())
        }
        LoginCommand::ClientCredentials { name, json } => {
            let p = desk.find(&name)?;
            let session = desk.session(&p)?;
            let t = session.grant_client_credentials().await?;
            warn_if_volatile(desk);
            output::login_result(&p, &t, json, session.now())
        }
        LoginCommand::Url { name, redirect_uri } => {
            let p = desk.find(&name)?;
            let session = desk.session(&p)?;
            let over = redirect_uri.as_deref().map(|r| oauth_desk_core::profile::parse_base_url("redirect URI", r)).transpose()?;
            let pending = session.authorize(over.as_ref()).await?;
            desk.save_pending(&p, &pending)?;
            println!("{}", pending.authorize_url);
            eprintln!("Open this URL, sign in, then run `oauth-desk login paste {name}` with the address you were redirected to (or just its code).");
            Ok(())
        }
        LoginCommand::Paste { name, input, json } => {
            let p = desk.find(&name)?;
            let input = match input {
                Some(i) => i,
                None => {
                    eprintln!("Paste the redirect URL or the code, then press Enter:");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(|e| Error::invalid_input(format!("cannot read standard input: {e}")))?;
                    line
                }
            };
            let pending = desk.pending(&p)?;
            if pending.is_none() && input.contains("state=") {
                eprintln!("note: no sign-in was started here with `login url`, so the redirect's state cannot be checked");
            }
            let session = desk.session(&p)?;
            match session.complete_pasted(pending.as_ref(), &input).await {
                Ok(t) => {
                    desk.clear_pending(&p)?;
                    warn_if_volatile(desk);
                    output::login_result(&p, &t, json, session.now())
                }
                Err(e) => {
                    // A typo keeps the pending sign-in for another paste; anything else ends it.
                    // (Failing to clear it must not hide why the sign-in failed.)
                    if e.code != ErrorCode::InvalidInput {
                        let _ = desk.clear_pending(&p);
                    }
                    Err(e)
                }
            }
        }
        LoginCommand::Browser { name, port, no_open, wait, json } => {
            let p = desk.find(&name)?;
            let session = desk.session(&p)?;
            let open = |url: &str| {
                eprintln!("Sign in through your browser at:\n  {url}\nWaiting for the redirect ...");
                if !no_open {
                    if let Err(e) = webbrowser::open(url) {
                        eprintln!("note: could not open a browser ({e}); open the URL above by hand");
                    }
                }
            };
            let t = oauth_desk_core::loopback::sign_in(&session, port, open, Duration::from_secs(wait)).await?;
            warn_if_volatile(desk);
            output::login_result(&p, &t, json, session.now())
        }
    }
}

async fn send_request(desk: &Desk, args: RequestArgs) -> Result<()> {
    let p = desk.find(&args.name)?;
    let mut headers = Vec::new();
    for h in &args.headers {
        let (k, v) = h.split_once(':').ok_or_else(|| Error::invalid_input(format!("header `{h}` must look like `Name: value`")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let body = match (&args.data, &args.data_file) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(f)) if f.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| Error::invalid_input(format!("cannot read standard input: {e}")))?;
            Some(s)
        }
        (None, Some(f)) => Some(std::fs::read_to_string(f).map_err(|e| Error::invalid_input(format!("cannot read {}: {e}", f.display())))?),
        (None, None) => None,
    };
    let session = desk.session(&p)?;
    let response = request::send(&session, &ApiRequest { method: args.method, url: args.url, headers, body }).await?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let shown = |t: &str| if tty { printable(t) } else { t.to_string() };
    if args.include {
        println!("HTTP {} ({} ms)", response.status, response.elapsed_ms);
        for (k, v) in &response.headers {
            println!("{}", printable(&format!("{k}: {v}")));
        }
        println!();
    }
    match (&response.json, &response.text) {
        (Some(j), _) => print_json(j)?,
        (None, Some(t)) => println!("{}", shown(t)),
        _ => {}
    }
    if response.status >= 400 {
        return Err(Error::new(ErrorCode::ProviderError, format!("the request failed with HTTP {}", response.status))
            .with_status(response.status)
            .at(&response.endpoint));
    }
    Ok(())
}

/// A secret from a file, or standard input for `-` (never from the command line, where other
/// users' `ps` would see it).
fn read_secret_file(file: &std::path::Path, what: &str) -> Result<Secret> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Error::invalid_input(format!("cannot read standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(file).map_err(|e| {
            Error::invalid_input(format!("cannot read the {what} {}: {e}", file.display()))
                .with_hint(format!("give the path of the {what}"))
        })?
    };
    Ok(Secret::new(text))
}

fn key(desk: &Desk, cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::Create { name, cert_out, force } => {
            let p = desk.find(&name)?;
            if !force && desk.has_secret(&p, SecretKey::PrivateKey)? {
                return Err(Error::invalid_input(format!("profile `{name}` already has a private key"))
                    .with_hint("add --force to replace it (the connected app then needs the new certificate)"));
            }
            if !force && cert_out.exists() {
                return Err(Error::invalid_input(format!("{} exists", cert_out.display()))
                    .with_hint("choose another file, or add --force to overwrite it"));
            }
            let cert = desk.create_private_key(&p)?;
            oauth_desk_core::storage::write_atomically(&cert_out, cert.as_bytes())?;
            warn_if_volatile(desk);
            println!("{}", cert_out.display());
            eprintln!(
                "Created an RSA 2048 key for `{name}` (in the keyring) and its certificate.\n\
                 Salesforce: Setup > App Manager > the connected app > Edit > Enable OAuth Settings >\n\
                 Use digital signatures: upload {}. Then Manage > Edit Policies: Permitted Users =\n\
                 \"Admin approved users are pre-authorized\", and add the user's profile or a permission set.\n\
                 Then: oauth-desk login jwt {name}",
                cert_out.display()
            );
            Ok(())
        }
        KeyCommand::Import { name, file } => {
            let p = desk.find(&name)?;
            desk.import_private_key(&p, &read_secret_file(&file, "key file")?)?;
            warn_if_volatile(desk);
            eprintln!("Imported the private key of `{name}` into the keyring.");
            Ok(())
        }
    }
}

fn status(desk: &Desk, json: bool) -> Result<()> {
    use oauth_desk_core::desk::TokenState;
    let all = desk.list()?.iter().map(|p| desk.status(p)).collect::<Result<Vec<_>>>()?;
    if json {
        print_json(&all)?;
    } else if all.is_empty() {
        println!("No profiles. Create one with `oauth-desk profile add`.");
    } else {
        let mut t = output::table(&["profile", "kind", "state", "expires", "renews by"]);
        for s in &all {
            let state = match s.state {
                TokenState::Valid => "signed in",
                TokenState::ExpiredRenewable => "expired, renews by itself",
                TokenState::Expired => "expired",
                TokenState::SignedOut => "signed out",
            };
            let expires = match (s.expires_in_seconds, s.expiry_source) {
                (Some(left), Some(oauth_desk_core::token::ExpirySource::SessionEstimate)) => {
                    format!("{} (estimated)", crate::time::human(left))
                }
                (Some(left), _) => crate::time::human(left),
                (None, Some(_)) => "unknown".into(),
                (None, None) => "".into(),
            };
            t.add_row(vec![
                s.name.clone(),
                s.kind.as_str().to_string(),
                state.into(),
                expires,
                s.renews_by.map(|g| g.as_str()).unwrap_or("").into(),
            ]);
        }
        println!("{t}");
    }
    let unusable: Vec<&str> = all.iter().filter(|s| !s.usable).map(|s| s.name.as_str()).collect();
    if unusable.is_empty() {
        return Ok(());
    }
    Err(Error::new(ErrorCode::NotSignedIn, format!("no usable token for: {}", unusable.join(", ")))
        .with_hint("sign in to each (oauth-desk login …); a token that renews by itself counts as usable"))
}
