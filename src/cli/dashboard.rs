//! `careerbot dashboard`: the admin dashboard of one machine, with no Discord: over the
//! local intents directory (reloaded as `chat` does) and the configured store, on a
//! loopback address only, logged into with a one-time link printed at start.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::config::Settings;
use crate::web::Dashboard;

pub fn run(dir: PathBuf, settings: Settings, listen: SocketAddr) -> anyhow::Result<ExitCode> {
    if !listen.ip().is_loopback() {
        eprintln!(
            "error: --listen {listen}: the local dashboard has no Discord login, so it listens \
             on this machine only (127.0.0.1 or ::1)"
        );
        return Ok(ExitCode::from(2));
    }
    let Some(reloader) = super::start_reloader(&dir, &settings)? else {
        return Ok(ExitCode::FAILURE);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        let (dashboard, token) = Dashboard::local(Arc::new(reloader), settings);
        // The link is the only output on stdout, so a script can read it.
        let mut out = std::io::stdout().lock();
        writeln!(out, "http://{address}/login?token={token}")?;
        out.flush()?;
        drop(out);
        crate::web::serve(listener, dashboard, super::shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
