//! `ferrostack`: the whole cloud in one binary. Subcommands: serve, bootstrap,
//! db migrate, keys rotate.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = server::cli::Cli::parse();
    server::runtime::init_tracing();
    if let Err(e) = server::cli::run(cli).await {
        eprintln!("ferrostack: {e}");
        std::process::exit(1);
    }
}
