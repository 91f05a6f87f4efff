//! `oauth-desk`: the headless command line over OAuth Desk's core, for scripts, CI and system
//! integrations. It shares every protocol path with the desktop app and links no GUI library.
//!
//! Exit codes: 0 success, 2 usage, 3 authentication, 4 network, 5 provider, 6 storage,
//! 1 anything else, 130 cancelled.

mod commands;
mod output;
mod profile_args;
mod query;
mod time;

use clap::{Args, Parser, Subcommand, ValueEnum};
use oauth_desk_core::{Error, ErrorCategory};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "oauth-desk", version, about = "Sign in to OAuth 2.0 providers (Salesforce, WeChat, any OIDC) and call their APIs", long_about = None)]
pub struct Cli {
    /// Where profiles are kept. Default: $XDG_DATA_HOME/oauth-desk (~/.local/share/oauth-desk).
    #[arg(long, global = true, env = "OAUTH_DESK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where secrets are kept: the OS keyring, or memory for this run only.
    #[arg(long, global = true, env = "OAUTH_DESK_SECRETS", value_enum, default_value_t = SecretsArg::Keyring)]
    pub secrets: SecretsArg,
    /// Keyring service name (separate test runs from real data).
    #[arg(long, global = true, env = "OAUTH_DESK_KEYRING_SERVICE", default_value = "oauth-desk", hide = true)]
    pub keyring_service: String,
    /// Seconds to wait for a server before giving up.
    #[arg(long, global = true, env = "OAUTH_DESK_TIMEOUT", default_value_t = 60)]
    pub timeout: u64,
    /// Largest response body accepted, in MiB.
    #[arg(long, global = true, default_value_t = 64, hide = true)]
    pub max_body_mib: usize,
    /// Log HTTP calls (never their secrets) to standard error.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print every HTTP exchange (request and response, secrets masked) to standard error.
    #[arg(long, global = true)]
    pub trace: bool,
    /// Write this run's HTTP exchanges (secrets masked) to FILE as HAR 1.2, also when the command fails.
    #[arg(long, global = true, value_name = "FILE")]
    pub har: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum SecretsArg {
    Keyring,
    Memory,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create, change, list and share provider profiles.
    #[command(subcommand)]
    Profile(Box<ProfileCommand>),
    /// Sign in with a grant: password, client credentials, a pasted redirect or code, or the system browser.
    #[command(subcommand)]
    Login(Box<LoginCommand>),
    /// Keys for the JWT bearer grant: create one with its certificate, or import a PEM key.
    #[command(subcommand)]
    Key(Box<KeyCommand>),
    /// Print the profile's Salesforce CLI auth URL for `sf org login sfdx-url`. It holds the refresh
    /// token and client secret: keep it like a password.
    SfdxUrl(NameArg),
    /// Every profile at a glance: signed in, expiry, whether it renews unattended. Exit code 0
    /// when every profile has a usable token, 3 when one does not.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Get a new access token now (refresh token, or the grant that made it).
    Refresh(NameArg),
    /// Show the current token: expiry, scopes, decoded JWTs. Secrets are masked unless --show-secrets.
    Token {
        name: String,
        /// Print the tokens in full.
        #[arg(long)]
        show_secrets: bool,
        #[arg(long)]
        json: bool,
    },
    /// Revoke the access token (or, with --refresh, the refresh token and its access tokens) and forget it.
    Revoke {
        name: String,
        #[arg(long)]
        refresh: bool,
    },
    /// Forget the stored token without telling the provider.
    Logout(NameArg),
    /// Ask the provider about the token (RFC 7662 introspection).
    Introspect {
        name: String,
        #[arg(long)]
        refresh: bool,
    },
    /// Run SOQL on a Salesforce profile, following every page.
    Query(query::QueryArgs),
    /// List the Salesforce API versions the instance serves.
    Versions(NameArg),
    /// Salesforce identity (the token's `id` URL).
    Identity(NameArg),
    /// User info: OIDC userinfo, Salesforce userinfo, or WeChat sns/userinfo.
    Userinfo {
        name: String,
        /// WeChat language: zh_CN, zh_TW or en.
        #[arg(long)]
        lang: Option<String>,
    },
    /// Check a WeChat access token (sns/auth).
    Check(NameArg),
    /// Send an authenticated request to any URL (relative URLs use the profile's API base or instance).
    Request(commands::RequestArgs),
    /// Print a shell completion script: `oauth-desk completions bash > /etc/bash_completion.d/oauth-desk`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `oauth-desk manpage | man -l -`.
    #[command(hide = true)]
    Manpage,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create an RSA 2048 key (kept in the keyring) and a self-signed certificate for the connected app.
    Create {
        name: String,
        /// Where to write the certificate (PEM) to upload.
        #[arg(long, value_name = "FILE")]
        cert_out: PathBuf,
        /// Replace the profile's key and an existing certificate file.
        #[arg(long)]
        force: bool,
    },
    /// Import a PEM private key (PKCS#8 or PKCS#1 RSA, or P-256) into the keyring; `-` reads standard input.
    Import { name: String, file: PathBuf },
}

#[derive(Args, Debug)]
pub struct NameArg {
    /// The profile's name.
    pub name: String,
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// Create a profile.
    Add {
        name: String,
        /// salesforce, wechat_official_account, wechat_website or oauth2.
        #[arg(long)]
        kind: String,
        #[command(flatten)]
        fields: profile_args::ProfileArgs,
        #[command(flatten)]
        secrets: commands::SecretArgs,
    },
    /// Change a profile's fields or stored secrets.
    Edit {
        name: String,
        /// Give the profile a new name.
        #[arg(long)]
        rename: Option<String>,
        #[command(flatten)]
        fields: profile_args::ProfileArgs,
        #[command(flatten)]
        secrets: commands::SecretArgs,
        /// Remove the stored client secret, password and security token.
        #[arg(long)]
        forget_secrets: bool,
    },
    /// List profiles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one profile (and which secrets are stored, never their values).
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a profile and its secrets.
    Remove(NameArg),
    /// Copy a profile under a new name, with its stored secrets (not its token).
    Duplicate { name: String, new_name: String },
    /// Write profiles (all, or those named) as JSON without secrets.
    Export {
        names: Vec<String>,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Read profiles from an export file.
    Import {
        file: PathBuf,
        /// Replace profiles that have the same name.
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum LoginCommand {
    /// Resource owner password grant (Salesforce: password then security token).
    Password {
        name: String,
        /// Overrides the profile's username.
        #[arg(long)]
        username: Option<String>,
        #[command(flatten)]
        secrets: commands::SecretArgs,
        /// Keep the password (and security token) in the keyring, so an expired session renews unattended.
        #[arg(long)]
        remember: bool,
        #[arg(long)]
        json: bool,
    },
    /// JWT bearer grant (RFC 7523; Salesforce's JWT bearer flow): an assertion signed with the
    /// profile's private key for its username. Renews by itself when the token expires.
    Jwt {
        name: String,
        /// Import this PEM private key into the keyring first (`-` for standard input).
        #[arg(long, value_name = "FILE")]
        key_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Device authorization grant (RFC 8628): prints a code (and a QR code) to approve on another
    /// device, then waits, polling at the server's interval.
    Device {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// A new Salesforce profile from a Salesforce CLI auth URL (force://…, from `sf org display
    /// --verbose`), read from standard input or a file, never the command line.
    SfdxUrl {
        /// Name of the new profile.
        name: String,
        /// Read the URL from this file (the Salesforce CLI's `--sfdx-url-file`); default: standard input.
        #[arg(long, value_name = "FILE")]
        sfdx_url_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Client credentials grant (generic; Salesforce on a My Domain host).
    ClientCredentials {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Print the authorize URL and remember this sign-in, for `login paste`.
    Url {
        name: String,
        /// Use this redirect URI instead of the profile's.
        #[arg(long)]
        redirect_uri: Option<String>,
    },
    /// Finish a sign-in with the redirect URL (or just the code) from the browser or the WeChat app.
    Paste {
        name: String,
        /// The redirect URL, its query, or the bare code. Read from standard input when absent.
        input: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Sign in through the system browser with a loopback redirect on 127.0.0.1 (RFC 8252).
    Browser {
        name: String,
        /// Port of the loopback listener (0: any free port). Default: the profile's loopback redirect URI, else any.
        #[arg(long)]
        port: Option<u16>,
        /// Print the URL instead of opening a browser.
        #[arg(long)]
        no_open: bool,
        /// Seconds to wait for the redirect.
        #[arg(long, default_value_t = 300)]
        wait: u64,
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    /// The profile the command is about, for wording what to do next.
    pub fn profile(&self) -> Option<&str> {
        match self {
            Command::Profile(p) => match p.as_ref() {
                ProfileCommand::Add { name, .. } | ProfileCommand::Edit { name, .. } | ProfileCommand::Show { name, .. } => Some(name),
                ProfileCommand::Remove(n) => Some(&n.name),
                ProfileCommand::Duplicate { name, .. } => Some(name),
                _ => None,
            },
            Command::Login(l) => match l.as_ref() {
                LoginCommand::Password { name, .. }
                | LoginCommand::ClientCredentials { name, .. }
                | LoginCommand::Jwt { name, .. }
                | LoginCommand::SfdxUrl { name, .. }
                | LoginCommand::Device { name, .. }
                | LoginCommand::Url { name, .. }
                | LoginCommand::Paste { name, .. }
                | LoginCommand::Browser { name, .. } => Some(name),
            },
            Command::Key(k) => match k.as_ref() {
                KeyCommand::Create { name, .. } | KeyCommand::Import { name, .. } => Some(name),
            },
            Command::Refresh(n)
            | Command::SfdxUrl(n)
            | Command::Logout(n)
            | Command::Versions(n)
            | Command::Identity(n)
            | Command::Check(n) => Some(&n.name),
            Command::Token { name, .. }
            | Command::Revoke { name, .. }
            | Command::Introspect { name, .. }
            | Command::Userinfo { name, .. } => Some(name),
            Command::Query(q) => Some(&q.name),
            Command::Request(r) => Some(&r.name),
            Command::Completions { .. } | Command::Manpage | Command::Status { .. } => None,
        }
    }
}

/// Writes to standard output; a reader that went away (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            ExitCode::from(1)
        }
    }
}

fn exit_code(e: &Error) -> u8 {
    match e.code.category() {
        ErrorCategory::Usage => 2,
        ErrorCategory::Auth => 3,
        ErrorCategory::Network => 4,
        ErrorCategory::Provider => 5,
        ErrorCategory::Storage => 6,
        ErrorCategory::Cancelled => 130,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = if cli.verbose { "oauth_desk_core=debug,oauth_desk=debug,warn" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("OAUTH_DESK_LOG").unwrap_or_else(|_| filter.into()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    // Completions and the manual need no profiles, keyring or network.
    match &cli.command {
        Command::Completions { shell } => {
            let mut text = Vec::new();
            clap_complete::generate(*shell, &mut <Cli as clap::CommandFactory>::command(), "oauth-desk", &mut text);
            return write_stdout(&text);
        }
        Command::Manpage => {
            let mut text = Vec::new();
            if let Err(e) = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut text) {
                eprintln!("error: cannot render the manual page: {e}");
                return ExitCode::from(1);
            }
            return write_stdout(&text);
        }
        _ => {}
    }
    let profile = cli.command.profile().map(str::to_string);
    let har = cli.har.clone();
    let result = match commands::open_desk(&cli) {
        Ok(desk) => {
            let result = runtime.block_on(commands::run(&desk, cli));
            match (har, result) {
                (Some(path), Ok(())) => commands::write_har(&desk, &path),
                (Some(path), Err(e)) => {
                    if let Err(h) = commands::write_har(&desk, &path) {
                        output::print_error(&h, profile.as_deref());
                    }
                    Err(e)
                }
                (None, r) => r,
            }
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::print_error(&e, profile.as_deref());
            ExitCode::from(exit_code(&e))
        }
    }
}
