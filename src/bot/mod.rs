//! The Discord front end: serenity for the gateway and REST, poise for the slash commands.
//!
//! Everything the bot says comes from the engine; this module turns replies into Discord
//! messages within Discord's limits ([`limits`], [`present`]), decides which messages to
//! answer ([`events`]) and answers them all through one path ([`answer`]), and never lets
//! a reply ping anyone. It installs no shutdown handler of its own: [`run`] stops when the
//! future it is given resolves.

mod answer;
mod commands;
mod cooldown;
mod events;
mod guilds;
pub mod limits;
mod manage;
pub mod present;
mod recorder;
mod state;
mod threads;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context as _;
use poise::serenity_prelude::{
    self as serenity, FullEvent, GatewayIntents, HttpBuilder, Interaction,
};
use tracing::{error, info, warn};

use crate::admin::reload::Reloader;
use crate::admin::store::{Retention, Store, Writer, FLUSH_EVERY};
use crate::admin::watch::Change;
use crate::config::{Secret, Settings};
pub use state::Bot;

/// The gateway intents the bot asks for: servers (and their threads), messages in servers
/// and DMs (their content arrives for mentions and DMs without privileges); the privileged
/// Message Content intent only when `answer_channels` or `forum_channels` needs it, in the
/// config file or (`servers_watch`) in a server's own settings.
pub fn gateway_intents(settings: &Settings, servers_watch: bool) -> GatewayIntents {
    let mut intents =
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
    let discord = &settings.discord;
    if servers_watch || !discord.answer_channels.is_empty() || !discord.forum_channels.is_empty() {
        intents |= GatewayIntents::MESSAGE_CONTENT;
    }
    intents
}

/// SIGHUP, listened for from the moment this is made: its default action would end the
/// process, so the CLI makes it before loading the intents. Each one asks [`run`] for a
/// reload; one that came while loading is kept and reloads once the bot serves.
pub struct Hangups {
    #[cfg(unix)]
    signal: std::io::Result<tokio::signal::unix::Signal>,
}

impl Hangups {
    /// Starts listening. Needs a tokio runtime.
    pub fn listen() -> Hangups {
        Hangups {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()),
        }
    }
}

/// Discord answered the first call with 401: the token is revoked or wrong.
#[derive(Debug)]
struct TokenRefused;

impl std::fmt::Display for TokenRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Discord refused the token in DISCORD_TOKEN")
    }
}

impl std::error::Error for TokenRefused {}

/// Largest answer to the gateway lookup read (Discord's is some 40 bytes).
const MAX_LOOKUP_BYTES: usize = 64 * 1024;

/// Runs the bot until `shutdown` resolves (the CLI passes SIGINT and SIGTERM), serving
/// and reloading the reloader's set (on file changes and on `hangups`); `shutdown` may
/// resolve at any time, even while connecting.
pub async fn run(
    settings: Settings,
    token: Secret,
    reloader: Reloader,
    hangups: Hangups,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut shutdown = std::pin::pin!(shutdown);
    // Before any network: a dashboard without its secret is a setup mistake to say at once.
    let client_secret = match settings.web.listen {
        Some(_) => Some(crate::web::client_secret()?),
        None => None,
    };
    let api_base = settings
        .discord
        .api_base
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let timeout = settings.discord.request_timeout;
    // Every call serenity makes is bounded in time by its client; serenity reads whole
    // answers, so the one call made before it takes over is made here, bounded in size too.
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
        .context("cannot set up the HTTP client")?;
    let through_proxy = settings.discord.through_proxy();
    if through_proxy {
        info!(%api_base, "Discord API calls go through a proxy");
    }
    let make_http = || {
        let mut http = HttpBuilder::new(token.expose()).client(client.clone());
        if through_proxy {
            // serenity's rate limiter ignores the proxy and would call Discord directly: a
            // proxy does its own rate limiting.
            http = http.proxy(api_base.clone()).ratelimiter_disabled(true);
        }
        http.build()
    };
    // serenity falls back to Discord's own gateway when its lookup fails; a wrong
    // `api_base` should say so instead.
    let gateway = tokio::select! {
        gateway = look_up_gateway(&api_base, &token, timeout) => gateway,
        () = &mut shutdown => {
            info!("shutting down before connecting");
            return Ok(());
        }
    };
    let gateway = match gateway {
        Err(refused) if refused.is::<TokenRefused>() => return Err(refused),
        other => other.with_context(|| {
            format!(
                "cannot reach the Discord API at {}",
                settings.discord.api_base
            )
        })?,
    };
    let plan = settings.discord.sharding.plan(gateway.shards);
    let limit = &gateway.session_start_limit;
    info!(
        shards = %plan,
        recommended = gateway.shards,
        max_concurrency = limit.max_concurrency,
        "starting the shards in order, one every 5 seconds (serenity's pace, within Discord's identify limit)"
    );
    if u64::from(plan.count()) > limit.remaining {
        warn!(
            remaining = limit.remaining,
            reset_after_ms = limit.reset_after,
            "Discord allows fewer session starts than this process has shards until the limit resets"
        );
    }

    let dev_guild = settings.discord.dev_guild;
    let reloader = Arc::new(reloader);
    let intents_dir = reloader.dir().to_owned();
    let writer = {
        let settings = settings.clone();
        tokio::task::spawn_blocking(move || open_store(&settings)).await??
    };
    let bot = Arc::new(Bot::new(reloader, settings, writer, plan));
    let _dashboard = match client_secret {
        Some(client_secret) => Some(
            crate::web::start(
                Arc::clone(&bot.reloader),
                bot.settings.clone(),
                token.clone(),
                client_secret,
                client.clone(),
                Arc::clone(&bot.triage.one_at_a_time),
            )
            .await?,
        ),
        None => None,
    };
    // The servers' own settings before connecting: their answer and forum channels decide
    // whether to ask for the Message Content intent.
    if let Some(connector) = bot.recorder.connector() {
        guilds::load(&bot, &connector).await;
        guilds::spawn_refresh(&bot, connector);
    }
    let mut intents = gateway_intents(&bot.settings, bot.guilds.any_own_answer_channels());
    // Asked for only because servers chose answer or forum channels: Discord's refusal must
    // not keep the bot off line, so it then connects without.
    let mut servers_only = intents.contains(GatewayIntents::MESSAGE_CONTENT)
        && !gateway_intents(&bot.settings, false).contains(GatewayIntents::MESSAGE_CONTENT);
    // Reloads are announced over a REST client of their own, from before connecting.
    let _watch = spawn_reloads(
        &bot,
        Arc::new(make_http()),
        &intents_dir,
        #[cfg(unix)]
        hangups.signal,
    );
    let served = loop {
        let content = intents.contains(GatewayIntents::MESSAGE_CONTENT);
        bot.discord
            .message_content
            .store(content, Ordering::Relaxed);
        // Looks the gateway up again (serenity's own call, bounded in time by the client).
        let client = serenity::ClientBuilder::new_with_http(make_http(), intents)
            .framework(framework(&bot, dev_guild));
        let mut client = tokio::select! {
            client = client => client.context("could not create the Discord client")?,
            () = &mut shutdown => {
                info!("shutting down before connecting");
                return Ok(());
            }
        };
        let shards = Arc::clone(&client.shard_manager);
        // serenity's `start_shard_range(a..b, n)` starts shards a through b *inclusive*: the
        // half-open plan is handed over as first..last.
        let last = plan.end - 1;
        let served = tokio::select! {
            served = client.start_shard_range(plan.first..last, plan.total) => served,
            () = &mut shutdown => {
                info!("shutting down");
                // Closes the gateway cleanly (code 1000) when connected; when not, leaving
                // here ends the reconnection attempts too.
                shards.shutdown_all().await;
                Ok(())
            }
        };
        if servers_only
            && matches!(
                served,
                Err(serenity::Error::Gateway(
                    serenity::GatewayError::DisallowedGatewayIntents
                ))
            )
        {
            error!(
                "Discord refused the Message Content intent, which servers' own answer and \
                 forum channels (/careerbot settings) need: connecting without it, so those \
                 channels are answered only when the bot is mentioned. Enable the intent for \
                 the bot in the Developer Portal, then restart"
            );
            intents.remove(GatewayIntents::MESSAGE_CONTENT);
            servers_only = false;
            shards.shutdown_all().await;
            continue;
        }
        break served;
    };
    // Whatever ended the connection (a signal or an error): replies in flight get a
    // moment, then everything recorded reaches the database.
    let discord = &bot.discord;
    let all_sent = discord.sending.acquire_many(discord.sending_max);
    let _ = tokio::time::timeout(manage::GRACE, all_sent).await;
    if bot.recorder.stores() {
        let flushing = Arc::clone(&bot);
        let _ = tokio::task::spawn_blocking(move || flushing.recorder.flush()).await;
    }
    served.map_err(|error| match error {
        serenity::Error::Gateway(serenity::GatewayError::InvalidAuthentication) => {
            anyhow::anyhow!("Discord refused the token in DISCORD_TOKEN")
        }
        serenity::Error::Gateway(serenity::GatewayError::DisallowedGatewayIntents) => {
            anyhow::anyhow!(
                "Discord refused the Message Content intent: enable it for the bot in the \
                 Developer Portal, or leave discord.answer_channels and discord.forum_channels \
                 empty and let no server choose answer or forum channels (/careerbot settings)"
            )
        }
        other => anyhow::Error::new(other).context("the Discord connection failed"),
    })?;
    info!(
        questions = recorder::read(&bot.recorder.stats.questions),
        "stopped"
    );
    Ok(())
}

/// The poise framework over `bot`: the commands, the event handler, and the commands'
/// registration once connected (in `dev_guild` only, when set).
fn framework(
    bot: &Arc<Bot>,
    dev_guild: Option<serenity::GuildId>,
) -> poise::Framework<Arc<Bot>, commands::Error> {
    let data = Arc::clone(bot);
    let options = poise::FrameworkOptions {
        commands: commands::all(),
        allowed_mentions: Some(present::no_mentions()),
        on_error: |error| Box::pin(on_error(error)),
        prefix_options: poise::PrefixFrameworkOptions {
            prefix: None,
            mention_as_prefix: false,
            ..Default::default()
        },
        event_handler: |ctx, event, framework, bot| {
            Box::pin(async move {
                on_event(ctx, event, framework.bot_id, bot).await;
                Ok(())
            })
        },
        ..Default::default()
    };
    poise::Framework::builder()
        .options(options)
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected");
                let commands = &framework.options().commands;
                let registered = match dev_guild {
                    None => poise::builtins::register_globally(ctx, commands).await,
                    Some(guild) => poise::builtins::register_in_guild(ctx, commands, guild).await,
                };
                if let Err(error) = registered {
                    // The bot still answers mentions and DMs; the commands may be stale.
                    error!(%error, "could not register the slash commands");
                }
                Ok(data)
            })
        })
        .build()
}

/// What `GET {api_base}/api/v10/gateway/bot` says (the gateway's URL, the recommended shard
/// count, the session start limit), reading at most [`MAX_LOOKUP_BYTES`] of the answer and
/// waiting at most `timeout` for all of it. The token authorizes it and is never logged.
async fn look_up_gateway(
    api_base: &str,
    token: &Secret,
    timeout: std::time::Duration,
) -> anyhow::Result<serenity::BotGateway> {
    // A client of its own, so that the one timeout here bounds it (and says so).
    let client = reqwest::Client::builder().use_rustls_tls().build()?;
    let lookup = async {
        let mut authorization =
            reqwest::header::HeaderValue::from_str(&format!("Bot {}", token.expose()))
                .context("the token is not a valid header value")?;
        authorization.set_sensitive(true);
        let response = client
            .get(format!("{api_base}/api/v10/gateway/bot"))
            .header(reqwest::header::AUTHORIZATION, authorization)
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(anyhow::Error::new(TokenRefused));
        }
        let mut response = response.error_for_status()?;
        let too_large = || {
            anyhow::anyhow!(
                "the gateway lookup answered with more than {} KiB",
                MAX_LOOKUP_BYTES >> 10
            )
        };
        if response
            .content_length()
            .is_some_and(|length| length > MAX_LOOKUP_BYTES as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_LOOKUP_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let gateway: serenity::BotGateway = serde_json::from_slice(&body)
            .context("the gateway lookup's answer is not a gateway")?;
        anyhow::ensure!(gateway.shards > 0, "Discord recommends 0 shards");
        Ok(gateway)
    };
    tokio::time::timeout(timeout, lookup).await.map_err(|_| {
        anyhow::anyhow!(
            "the gateway lookup got no answer within {} s",
            timeout.as_secs()
        )
    })?
}

/// The store's writer, or `None` when `admin.database` is "". Blocking (it connects and
/// migrates): call it off the async runtime.
fn open_store(settings: &Settings) -> anyhow::Result<Option<Writer>> {
    let Some(database) = &settings.admin.database else {
        return Ok(None);
    };
    // Its errors name the file or server.
    let store = Store::open(database)?;
    info!(store = %store.describe(), "storing questions and votes");
    let retention = settings.admin.retention.map(Retention::daily);
    Ok(Some(Writer::spawn(store, FLUSH_EVERY, retention)))
}

/// Reloads on changes to the intent files (when `admin.watch`) and on SIGHUP, one at a
/// time, each validated before it goes live. The returned watch stops when dropped.
fn spawn_reloads(
    bot: &Arc<Bot>,
    http: Arc<serenity::Http>,
    dir: &std::path::Path,
    #[cfg(unix)] hangups: std::io::Result<tokio::signal::unix::Signal>,
) -> Option<crate::admin::watch::Watch> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<&'static str>(4);
    if let Some(store) = bot.reloader.publisher() {
        // Published sets: the database says which set to serve, not the local files.
        let (wake, mut woken) = tokio::sync::mpsc::channel::<()>(1);
        store.listen(wake);
        let published = tx.clone();
        tokio::spawn(async move {
            while woken.recv().await.is_some() {
                let _ = published.try_send(manage::PUBLISHED_SET);
            }
        });
    }
    let watch = if bot.settings.admin.watch && bot.reloader.publisher().is_none() {
        let changed = tx.clone();
        let debounce = bot.settings.admin.watch_debounce;
        let shown = dir.display().to_string();
        match crate::admin::watch::watch(dir, debounce, move |change| {
            let trigger = match change {
                Change::Files => "files changed",
                Change::Replaced => {
                    info!(dir = %shown, "the intents directory was replaced; watching the new one");
                    "directory replaced"
                }
                Change::Missing => {
                    warn!(dir = %shown, "the intents directory is gone; the set in service stays until it is back");
                    return;
                }
            };
            // A full queue already holds a reload that will read the newest files.
            let _ = changed.try_send(trigger);
        }) {
            Ok(watch) => Some(watch),
            Err(error) => {
                warn!(%error, dir = %dir.display(), "cannot watch the intents; reload with SIGHUP or /careerbot reload");
                None
            }
        }
    } else {
        None
    };
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangups) = hangups else {
            warn!("cannot listen for SIGHUP");
            return;
        };
        while hangups.recv().await.is_some() {
            let _ = tx.try_send("SIGHUP");
        }
    });
    let bot = Arc::clone(bot);
    tokio::spawn(async move {
        while let Some(trigger) = rx.recv().await {
            let _ = manage::reload(&http, &bot, trigger).await;
        }
    });
    watch
}

async fn on_event(
    ctx: &serenity::Context,
    event: &FullEvent,
    me: serenity::UserId,
    bot: &Arc<Bot>,
) {
    match event {
        FullEvent::Message { new_message } => events::on_message(ctx, bot, me, new_message).await,
        FullEvent::ThreadCreate { thread } => events::on_thread(ctx, bot, me, thread).await,
        FullEvent::InteractionCreate {
            interaction: Interaction::Component(click),
        } => events::on_component(ctx, bot, click).await,
        FullEvent::GuildCreate { guild, .. } => bot.discord.learn_own_roles(guild, me),
        FullEvent::Resume { .. } => info!("gateway session resumed"),
        _ => {}
    }
}

async fn on_error(error: poise::FrameworkError<'_, Arc<Bot>, commands::Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            warn!(command = %ctx.command().qualified_name, "command failed: {error:#}");
            let sorry = present::Card::text("Sorry, something went wrong. Please try again.");
            if let Err(error) = ctx.send(sorry.reply(true)).await {
                warn!(%error, "could not report a failed command");
            }
        }
        // `manages_server` has already told the user why.
        poise::FrameworkError::CommandCheckFailed { error: None, .. } => {}
        other => {
            if let Err(error) = poise::builtins::on_error(other).await {
                warn!(%error, "could not report an error");
            }
        }
    }
}
