//! Pub/Sub: channel and pattern subscriptions, PUBLISH, PUBSUB, and keyspace notifications.
//!
//! ```text
//!   PUBLISH ch msg ──> PubSub.channels[ch]  ─┐  each subscriber: an unbounded mpsc sender
//!                      PubSub.patterns[*]   ─┴> ClientPubSub.rx, drained by the connection
//!                                               task (net.rs selects on it), encoded in the
//!                                               receiver's protocol (RESP2 array / RESP3 push)
//! ```
//! The registry maps are behind one RwLock each; PUBLISH takes read locks only. A client's
//! own subscription lists live in its [`ClientPubSub`] (owned by the connection task).
//!
//! # Keyspace notifications
//! `Ctx::notify(class, event, key)` (class bits from `ferrodis_config::notify`, e.g.
//! `notify::LIST`, event as Redis names it, e.g. `"lpush"`) publishes to
//! `__keyspace@<db>__:<key>` and/or `__keyevent@<db>__:<event>` when
//! `notify-keyspace-events` enables that class. When it is off the call is one atomic load.
//! Call it after the change is applied, once per event, as Redis does (e.g. `hset`, `srem`,
//! `zadd`; `del` when a command empties and removes a key).

use crate::client::Client;
use crate::commands::flags::*;
use crate::commands::{is_kw, spec, CmdResult, CommandError, CommandSpec, Ctx, KeySpec};
use crate::Server;
use bytes::Bytes;
use ferrodis_config::notify;
use ferrodis_resp::Frame;
use hashbrown::HashMap;
use parking_lot::RwLock;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// A message for one subscriber.
#[derive(Debug, Clone)]
pub enum PubMsg {
    /// `message channel payload`
    Message(Bytes, Bytes),
    /// `pmessage pattern channel payload`
    PMessage(Bytes, Bytes, Bytes),
}

impl PubMsg {
    /// The frame sent to the subscriber (RESP3: a push).
    pub fn frame(&self) -> Frame {
        match self {
            PubMsg::Message(c, m) => Frame::Push(vec![
                Frame::Bulk(Bytes::from_static(b"message")),
                Frame::Bulk(c.clone()),
                Frame::Bulk(m.clone()),
            ]),
            PubMsg::PMessage(p, c, m) => Frame::Push(vec![
                Frame::Bulk(Bytes::from_static(b"pmessage")),
                Frame::Bulk(p.clone()),
                Frame::Bulk(c.clone()),
                Frame::Bulk(m.clone()),
            ]),
        }
    }
}

type Subscribers = Vec<(u64, UnboundedSender<PubMsg>)>;

/// The server-wide registry.
#[derive(Default)]
pub struct PubSub {
    channels: RwLock<HashMap<Bytes, Subscribers>>,
    patterns: RwLock<Vec<(Bytes, Subscribers)>>,
    npatterns: AtomicUsize,
    /// `notify-keyspace-events` bits, cached for the write path.
    pub notify_flags: AtomicU32,
}

impl PubSub {
    /// An empty registry with these `notify-keyspace-events` bits.
    pub fn new(notify_flags: u32) -> Self {
        PubSub {
            notify_flags: AtomicU32::new(notify_flags),
            ..Default::default()
        }
    }

    /// Channels with at least one subscriber (INFO `pubsub_channels`).
    pub fn channel_count(&self) -> usize {
        self.channels.read().len()
    }
    /// Distinct patterns subscribed (INFO `pubsub_patterns`).
    pub fn pattern_count(&self) -> usize {
        self.patterns.read().len()
    }

    /// Delivers `msg` on `channel`; returns the number of receivers.
    pub fn publish(&self, channel: &[u8], msg: &[u8]) -> i64 {
        let mut n = 0;
        let mut ch_b = None;
        let msg_b = Bytes::copy_from_slice(msg);
        if let Some(subs) = self.channels.read().get(channel) {
            let c = ch_b
                .get_or_insert_with(|| Bytes::copy_from_slice(channel))
                .clone();
            for (_, tx) in subs {
                if tx.send(PubMsg::Message(c.clone(), msg_b.clone())).is_ok() {
                    n += 1;
                }
            }
        }
        if self.npatterns.load(Ordering::Relaxed) > 0 {
            for (p, subs) in self.patterns.read().iter() {
                if ferrodis_config::glob_match(p, channel, false) {
                    let c = ch_b
                        .get_or_insert_with(|| Bytes::copy_from_slice(channel))
                        .clone();
                    for (_, tx) in subs {
                        let m = PubMsg::PMessage(p.clone(), c.clone(), msg_b.clone());
                        if tx.send(m).is_ok() {
                            n += 1;
                        }
                    }
                }
            }
        }
        n
    }
}

/// A client's subscriptions and inbox.
pub struct ClientPubSub {
    /// Channels, in subscription order.
    pub channels: Vec<Bytes>,
    /// Patterns, in subscription order.
    pub patterns: Vec<Bytes>,
    tx: UnboundedSender<PubMsg>,
    rx: UnboundedReceiver<PubMsg>,
}

/// Waits for the next message for a subscribed client (never resolves otherwise). Used by the
/// connection loop's `select!`.
pub async fn next_message(client: &mut Client) -> Option<PubMsg> {
    match client.pubsub.as_mut() {
        Some(p) => p.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Messages already waiting (drained after [`next_message`] so one write carries them all).
pub fn try_next(client: &mut Client) -> Option<PubMsg> {
    client.pubsub.as_mut().and_then(|p| p.rx.try_recv().ok())
}

/// Commands a RESP2 client may run while subscribed.
pub fn allowed_when_subscribed(cmd: &CommandSpec) -> bool {
    matches!(
        cmd.name,
        "subscribe"
            | "psubscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "punsubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

fn state(client: &mut Client) -> &mut ClientPubSub {
    client.pubsub.get_or_insert_with(|| {
        let (tx, rx) = unbounded_channel();
        Box::new(ClientPubSub {
            channels: Vec::new(),
            patterns: Vec::new(),
            tx,
            rx,
        })
    })
}

fn update_counts(client: &mut Client) {
    let (c, p) = client
        .pubsub
        .as_ref()
        .map_or((0, 0), |s| (s.channels.len(), s.patterns.len()));
    client.subscriptions = c + p;
    client.handle.sub.store(c, Ordering::Relaxed);
    client.handle.psub.store(p, Ordering::Relaxed);
    crate::client::set_flag(&client.handle, 'P', c + p > 0);
}

fn confirm(kind: &'static str, name: Option<&Bytes>, count: usize) -> Frame {
    Frame::Push(vec![
        Frame::Bulk(Bytes::from_static(kind.as_bytes())),
        name.map_or(Frame::Null, |n| Frame::Bulk(n.clone())),
        Frame::Integer(count as i64),
    ])
}

fn subscribe_one(server: &Server, client: &mut Client, name: &[u8], pattern: bool) {
    let id = client.id;
    let st = state(client);
    let list = if pattern {
        &mut st.patterns
    } else {
        &mut st.channels
    };
    if list.iter().any(|c| c == name) {
        return;
    }
    let owned = Bytes::copy_from_slice(name);
    list.push(owned.clone());
    let tx = st.tx.clone();
    if pattern {
        let mut pats = server.pubsub.patterns.write();
        match pats.iter_mut().find(|(p, _)| p == name) {
            Some((_, subs)) => subs.push((id, tx)),
            None => pats.push((owned, vec![(id, tx)])),
        }
        server.pubsub.npatterns.fetch_add(1, Ordering::Relaxed);
    } else {
        server
            .pubsub
            .channels
            .write()
            .entry(owned)
            .or_default()
            .push((id, tx));
    }
}

fn unsubscribe_one(server: &Server, client: &mut Client, name: &[u8], pattern: bool) -> bool {
    let id = client.id;
    let Some(st) = client.pubsub.as_mut() else {
        return false;
    };
    let list = if pattern {
        &mut st.patterns
    } else {
        &mut st.channels
    };
    let Some(pos) = list.iter().position(|c| c == name) else {
        return false;
    };
    list.remove(pos);
    if pattern {
        let mut pats = server.pubsub.patterns.write();
        if let Some(i) = pats.iter().position(|(p, _)| p == name) {
            pats[i].1.retain(|(c, _)| *c != id);
            if pats[i].1.is_empty() {
                pats.remove(i);
            }
        }
        server.pubsub.npatterns.fetch_sub(1, Ordering::Relaxed);
    } else {
        let mut chans = server.pubsub.channels.write();
        if let Some(subs) = chans.get_mut(name) {
            subs.retain(|(c, _)| *c != id);
            if subs.is_empty() {
                chans.remove(name);
            }
        }
    }
    true
}

/// Drops every subscription (RESET, disconnect).
pub fn unsubscribe_all(server: &Server, client: &mut Client) {
    if let Some(st) = client.pubsub.as_ref() {
        let (chans, pats) = (st.channels.clone(), st.patterns.clone());
        for c in chans {
            unsubscribe_one(server, client, &c, false);
        }
        for p in pats {
            unsubscribe_one(server, client, &p, true);
        }
        client.pubsub = None;
        update_counts(client);
    }
}

/// Emits several confirmations: all but the last go to `extra_replies`.
fn replies(ctx: &mut Ctx, mut frames: Vec<Frame>) -> CmdResult {
    let last = frames.pop().unwrap_or(Frame::Null);
    ctx.client.extra_replies.extend(frames);
    Ok(last)
}

fn sub_generic(ctx: &mut Ctx, args: &[Bytes], pattern: bool) -> CmdResult {
    let kind = if pattern { "psubscribe" } else { "subscribe" };
    let mut out = Vec::with_capacity(args.len() - 1);
    for name in &args[1..] {
        subscribe_one(ctx.server, ctx.client, name, pattern);
        update_counts(ctx.client);
        out.push(confirm(kind, Some(name), ctx.client.subscriptions));
    }
    replies(ctx, out)
}

fn unsub_generic(ctx: &mut Ctx, args: &[Bytes], pattern: bool) -> CmdResult {
    let kind = if pattern {
        "punsubscribe"
    } else {
        "unsubscribe"
    };
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        ctx.client.pubsub.as_ref().map_or(Vec::new(), |s| {
            if pattern {
                s.patterns.clone()
            } else {
                s.channels.clone()
            }
        })
    };
    if names.is_empty() {
        return Ok(confirm(kind, None, ctx.client.subscriptions));
    }
    let mut out = Vec::with_capacity(names.len());
    for name in &names {
        unsubscribe_one(ctx.server, ctx.client, name, pattern);
        update_counts(ctx.client);
        out.push(confirm(kind, Some(name), ctx.client.subscriptions));
    }
    if ctx.client.subscriptions == 0 {
        ctx.client.pubsub = None;
    }
    replies(ctx, out)
}

/// `SUBSCRIBE channel [channel ...]`
fn subscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    sub_generic(ctx, args, false)
}
/// `PSUBSCRIBE pattern [pattern ...]`
fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    sub_generic(ctx, args, true)
}
/// `UNSUBSCRIBE [channel ...]`
fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsub_generic(ctx, args, false)
}
/// `PUNSUBSCRIBE [pattern ...]`
fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    unsub_generic(ctx, args, true)
}

/// `PUBLISH channel message`
fn publish(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        ctx.server.pubsub.publish(&args[1], &args[2]),
    ))
}

/// `SPUBLISH shardchannel message` (no cluster: shard channels are not tracked).
fn spublish(_ctx: &mut Ctx, _args: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(0))
}

/// `PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | SHARDCHANNELS | SHARDNUMSUB`
fn pubsub(ctx: &mut Ctx, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let reg = &ctx.server.pubsub;
    if is_kw(sub, "CHANNELS") && args.len() <= 3 {
        let chans = reg.channels.read();
        let mut v: Vec<Frame> = chans
            .keys()
            .filter(|c| {
                args.get(2)
                    .map_or(true, |p| ferrodis_config::glob_match(p, c, false))
            })
            .map(|c| Frame::Bulk(c.clone()))
            .collect();
        v.sort_by(|a, b| a.as_bytes().cmp(&b.as_bytes()));
        Ok(Frame::Array(v))
    } else if is_kw(sub, "NUMSUB") {
        let chans = reg.channels.read();
        let mut v = Vec::new();
        for c in &args[2..] {
            v.push(Frame::Bulk(c.clone()));
            v.push(Frame::Integer(
                chans.get(&c[..]).map_or(0, |s| s.len()) as i64
            ));
        }
        Ok(Frame::Array(v))
    } else if is_kw(sub, "NUMPAT") && args.len() == 2 {
        Ok(Frame::Integer(reg.npatterns.load(Ordering::Relaxed) as i64))
    } else if is_kw(sub, "SHARDCHANNELS") && args.len() <= 3 {
        Ok(Frame::Array(vec![]))
    } else if is_kw(sub, "SHARDNUMSUB") {
        let mut v = Vec::new();
        for c in &args[2..] {
            v.push(Frame::Bulk(c.clone()));
            v.push(Frame::Integer(0));
        }
        Ok(Frame::Array(v))
    } else if is_kw(sub, "HELP") && args.len() == 2 {
        Ok(crate::commands::help_reply(&[
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "SHARDCHANNELS [<pattern>]",
                "    Return the currently active shard level channels matching a <pattern> (default: '*').",
                "SHARDNUMSUB [<shardchannel> ...]",
                "    Return the number of subscribers for the specified shard level channel(s)",
                "HELP",
                "    Prints this help.",
            ]))
    } else {
        Err(CommandError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(sub)
        )))
    }
}

/// Publishes a keyspace notification (see the module comment).
pub fn notify_keyspace_event(server: &Server, class: u32, event: &str, key: &[u8], db: usize) {
    let flags = server.pubsub.notify_flags.load(Ordering::Relaxed);
    if flags & class == 0 {
        return;
    }
    if flags & notify::KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{db}__:").into_bytes();
        ch.extend_from_slice(key);
        server.pubsub.publish(&ch, event.as_bytes());
    }
    if flags & notify::KEYEVENT != 0 {
        let ch = format!("__keyevent@{db}__:{event}");
        server.pubsub.publish(ch.as_bytes(), key);
    }
}

const NONE: KeySpec = KeySpec::NONE;

pub(crate) const COMMANDS: &[CommandSpec] = &[
    spec(
        "subscribe",
        -2,
        PUBSUB | NO_MULTI | LOADING | STALE,
        NONE,
        "pubsub",
        subscribe,
    ),
    spec(
        "psubscribe",
        -2,
        PUBSUB | NO_MULTI | LOADING | STALE,
        NONE,
        "pubsub",
        psubscribe,
    ),
    spec(
        "unsubscribe",
        -1,
        PUBSUB | NO_MULTI | LOADING | STALE,
        NONE,
        "pubsub",
        unsubscribe,
    ),
    spec(
        "punsubscribe",
        -1,
        PUBSUB | NO_MULTI | LOADING | STALE,
        NONE,
        "pubsub",
        punsubscribe,
    ),
    spec(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST,
        NONE,
        "pubsub",
        publish,
    ),
    spec(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST,
        KeySpec::ONE,
        "pubsub",
        spublish,
    ),
    spec(
        "pubsub",
        -2,
        PUBSUB | LOADING | STALE,
        NONE,
        "pubsub",
        pubsub,
    ),
];
