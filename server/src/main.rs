//! `ferrostack`: the whole cloud in one binary. Subcommands: serve, bootstrap,
//! db migrate, keys rotate.

use clap::Parser;

#[tokio::main]
async fn main() {
    // Everything this process creates is its own (0600 files, 0700 directories) unless
    // it says otherwise: the data dir is traversable so that QEMU reaches the servers'
    // disks, so nothing in it may rely on the directory for its privacy.
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let cli = server::cli::Cli::parse();
    server::runtime::init_tracing();
    if let Err(e) = server::cli::run(cli).await {
        eprintln!("ferrostack: {e}");
        std::process::exit(1);
    }
}
