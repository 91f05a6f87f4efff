//! Runs an emulator in the foreground on 127.0.0.1, for benchmarks and for trying the CLI by
//! hand. Prints `ready <base URL>` on stdout once it listens; stops on Ctrl-C or SIGTERM.

use clap::{Parser, Subcommand};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "oauth-desk-emulator", version, about = "Serve the Salesforce or WeChat emulator, or the faults server, on 127.0.0.1")]
struct Cli {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0, global = true)]
    port: u16,
    #[command(subcommand)]
    which: Which,
}

#[derive(Subcommand)]
enum Which {
    /// A Salesforce org: OAuth endpoints, SOQL, identity. Demo user ada@example.com / Passw0rd! (security token SECTOKEN42).
    Salesforce {
        /// Number of demo Account rows.
        #[arg(long, default_value_t = 5000)]
        accounts: usize,
        /// Session lifetime in seconds, after which API calls get 401 INVALID_SESSION_ID.
        #[arg(long, default_value_t = 7200)]
        session_seconds: u64,
        /// Rotate refresh tokens: each refresh returns a new one and revokes the one it used.
        #[arg(long)]
        rotate_refresh_tokens: bool,
        /// Delay every response by this many milliseconds, as a distant server would.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Bulk API 2.0: milliseconds from a query job's creation to JobComplete.
        #[arg(long, default_value_t = 150)]
        bulk_processing_ms: u64,
        /// Bulk API 2.0: records per results download when the client sets no maxRecords.
        #[arg(long, default_value_t = 50_000)]
        bulk_page_size: usize,
    },
    /// WeChat's open platform pages and sns/* API.
    Wechat {
        /// Access token lifetime in seconds.
        #[arg(long, default_value_t = 7200)]
        token_seconds: u64,
    },
    /// Broken responses, one per path.
    Faults,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let running = match cli.which {
        Which::Salesforce { accounts, session_seconds, rotate_refresh_tokens, latency_ms, bulk_processing_ms, bulk_page_size } => {
            let config = oauth_desk_emulators::salesforce::Config {
                accounts,
                session_ttl: Duration::from_secs(session_seconds),
                rotate_refresh_tokens,
                latency: Duration::from_millis(latency_ms),
                bulk_processing: Duration::from_millis(bulk_processing_ms),
                bulk_page_size: bulk_page_size.max(1),
                ..Default::default()
            };
            eprintln!("client id {}  client secret {}", config.client_id, config.client_secret);
            oauth_desk_emulators::salesforce::start(config, cli.port).await?.1
        }
        Which::Wechat { token_seconds } => {
            let config = oauth_desk_emulators::wechat::Config { token_ttl: Duration::from_secs(token_seconds), ..Default::default() };
            for a in &config.apps {
                eprintln!("appid {}  secret {}  ({})", a.appid, a.secret, if a.website { "website" } else { "official account" });
            }
            oauth_desk_emulators::wechat::start(config, cli.port).await?.1
        }
        Which::Faults => oauth_desk_emulators::faults::start(cli.port).await?,
    };
    println!("ready {}", running.base_url());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    running.stop().await;
    Ok(())
}
