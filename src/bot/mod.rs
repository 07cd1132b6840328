//! The Discord front end: serenity for the gateway and REST, poise for the slash commands.
//!
//! Everything the bot says comes from the engine; this module turns replies into Discord
//! messages within Discord's limits ([`limits`], [`present`]), decides which messages to
//! answer ([`events`]), and never lets a reply ping anyone.

mod commands;
mod cooldown;
mod events;
pub mod limits;
pub mod present;
mod state;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use poise::serenity_prelude::{
    self as serenity, FullEvent, GatewayIntents, GuildId, HttpBuilder, Interaction,
};
use tracing::{error, info, warn};

use crate::config::{Secret, Settings, DISCORD_API};
use crate::engine::Engine;
pub use state::Bot;

/// The gateway intents the bot asks for: messages in servers and DMs (their content arrives
/// for mentions and DMs without privileges); the privileged Message Content intent only
/// when `answer_channels` needs it.
pub fn gateway_intents(settings: &Settings) -> GatewayIntents {
    let mut intents =
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
    if !settings.discord.answer_channels.is_empty() {
        intents |= GatewayIntents::MESSAGE_CONTENT;
    }
    intents
}

/// Runs the bot until SIGINT or SIGTERM. `engine` is the already validated intent set.
pub async fn run(
    settings: Settings,
    token: Secret,
    intents_dir: PathBuf,
    engine: Engine,
) -> anyhow::Result<()> {
    let api_base = settings.discord.api_base.trim_end_matches('/').to_owned();
    let parsed = url::Url::parse(&api_base)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    anyhow::ensure!(
        parsed.is_some(),
        "discord.api_base must be an http(s) URL, not {api_base:?}"
    );
    let mut http = HttpBuilder::new(token.expose());
    if api_base != DISCORD_API {
        // serenity's rate limiter ignores the proxy and would call Discord directly: a proxy
        // does its own rate limiting.
        info!(%api_base, "Discord API calls go through a proxy");
        http = http.proxy(api_base).ratelimiter_disabled(true);
    }
    let http = http.build();
    // serenity falls back to Discord's own gateway when this lookup fails; a wrong
    // `api_base` should say so instead.
    http.get_gateway().await.with_context(|| {
        format!(
            "cannot reach the Discord API at {}",
            settings.discord.api_base
        )
    })?;

    let intents = gateway_intents(&settings);
    let dev_guild = settings.discord.dev_guild;
    let bot = Arc::new(Bot::new(engine, settings, intents_dir));
    let data = Arc::clone(&bot);
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
    let framework = poise::Framework::builder()
        .options(options)
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                info!(user = %ready.user.name, guilds = ready.guilds.len(), "connected");
                let commands = &framework.options().commands;
                let registered = if dev_guild == 0 {
                    poise::builtins::register_globally(ctx, commands).await
                } else {
                    poise::builtins::register_in_guild(ctx, commands, GuildId::new(dev_guild)).await
                };
                if let Err(error) = registered {
                    // The bot still answers mentions and DMs; the commands may be stale.
                    error!(%error, "could not register the slash commands");
                }
                Ok(data)
            })
        })
        .build();

    let mut client = serenity::ClientBuilder::new_with_http(http, intents)
        .framework(framework)
        .await
        .context("could not create the Discord client")?;
    let shards = Arc::clone(&client.shard_manager);
    let served = tokio::select! {
        served = client.start() => served,
        () = shutdown_signal() => {
            info!("shutting down");
            // Closes the gateway cleanly (code 1000) when connected; when not, leaving here
            // ends the reconnection attempts too.
            shards.shutdown_all().await;
            Ok(())
        }
    };
    served.map_err(|error| match error {
        serenity::Error::Gateway(serenity::GatewayError::InvalidAuthentication) => {
            anyhow::anyhow!("Discord refused the token in DISCORD_TOKEN")
        }
        serenity::Error::Gateway(serenity::GatewayError::DisallowedGatewayIntents) => {
            anyhow::anyhow!(
                "Discord refused the Message Content intent: enable it for the bot in the \
                 Developer Portal, or leave discord.answer_channels empty"
            )
        }
        other => anyhow::Error::new(other).context("the Discord connection failed"),
    })?;
    info!(questions = state::read(&bot.stats.questions), "stopped");
    Ok(())
}

async fn on_event(ctx: &serenity::Context, event: &FullEvent, me: serenity::UserId, bot: &Bot) {
    match event {
        FullEvent::Message { new_message } => events::on_message(ctx, bot, me, new_message).await,
        FullEvent::InteractionCreate {
            interaction: Interaction::Component(click),
        } => events::on_component(ctx, bot, click).await,
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

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(error) => {
                warn!(%error, "cannot listen for SIGTERM");
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
