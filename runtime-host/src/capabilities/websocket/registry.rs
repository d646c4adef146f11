//! The connections one host holds: their subscriptions, their bounded send queues, and where
//! each stands in the event stream. A slow client never slows the others: delivery only ever
//! appends to a queue; when a queue is full, a newer event replaces a queued one with the same
//! channel and key (a battle's newer update supersedes its older one), and otherwise the
//! connection is closed with 1013 and the position to resume from.

use super::stream::{Event, EventId};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Limits of one host's connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub max_subscriptions: usize,
    pub send_queue: usize,
}

/// What the writer of a connection sends next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A frame from the component (`connections.send`).
    Text(String),
    /// A published event, on the channel it matched.
    Event { id: EventId, channel: String, key: Option<String>, frame: String },
    /// Close with this code and reason (nothing after it is sent).
    Close(u16, String),
}

/// How a connection receives events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// From the host's live reader.
    Live,
    /// From its own catch-up read of the stream (`resume`); the live reader skips it.
    CatchingUp,
}

/// Event ids a connection got since it opened, for resume to skip (bounded: resume is for
/// the moments after a reconnect).
const DELIVERED_MEMORY: usize = 4096;

struct Connection {
    queue: VecDeque<Outbound>,
    wake: Arc<Notify>,
    subscriptions: HashSet<String>,
    attachment: Option<String>,
    mode: Mode,
    delivered: BTreeSet<EventId>,
    /// The last event the writer actually sent: where the client can resume.
    sent: Option<EventId>,
    closing: bool,
}

#[derive(Default)]
struct Inner {
    connections: HashMap<String, Connection>,
    by_channel: HashMap<String, HashSet<String>>,
    /// The last event the live reader handled.
    live: EventId,
}

/// Why a registry call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    NoSuchConnection,
    Limit(String),
}

pub struct Registry {
    inner: Mutex<Inner>,
    pub limits: Limits,
}

impl Registry {
    pub fn new(limits: Limits) -> Self {
        Self { inner: Mutex::default(), limits }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.lock().connections.len()
    }

    /// Make room for a new connection, or refuse it at the limit. A connection that resumes
    /// (it came with a position) starts off the live reader: it gets nothing until `resume`
    /// has caught it up, so what it missed arrives before anything newer. Returns what wakes
    /// its writer.
    pub fn open(&self, id: &str, resuming: bool) -> Result<Arc<Notify>, Refused> {
        let mut inner = self.lock();
        if inner.connections.len() >= self.limits.max_connections {
            return Err(Refused::Limit(format!("{} connections are open, the most this host takes", inner.connections.len())));
        }
        let wake = Arc::new(Notify::new());
        inner.connections.insert(
            id.to_string(),
            Connection {
                queue: VecDeque::new(),
                wake: wake.clone(),
                subscriptions: HashSet::new(),
                attachment: None,
                mode: if resuming { Mode::CatchingUp } else { Mode::Live },
                delivered: BTreeSet::new(),
                sent: None,
                closing: false,
            },
        );
        Ok(wake)
    }

    /// Forget a connection.
    pub fn remove(&self, id: &str) {
        let mut inner = self.lock();
        if let Some(c) = inner.connections.remove(id) {
            for channel in c.subscriptions {
                if let Some(set) = inner.by_channel.get_mut(&channel) {
                    set.remove(id);
                    if set.is_empty() {
                        inner.by_channel.remove(&channel);
                    }
                }
            }
        }
    }

    fn with<T>(&self, id: &str, f: impl FnOnce(&mut Connection) -> T) -> Result<T, Refused> {
        self.lock().connections.get_mut(id).map(f).ok_or(Refused::NoSuchConnection)
    }

    /// Queue `item`, applying the overflow rule. Returns false when the connection had to be
    /// closed for it.
    fn push(c: &mut Connection, limit: usize, item: Outbound) -> bool {
        if c.closing {
            return false;
        }
        if c.queue.len() < limit || matches!(item, Outbound::Close(..)) {
            c.queue.push_back(item);
        } else if let Outbound::Event { channel, key: Some(key), .. } = &item {
            let same = |o: &Outbound| matches!(o, Outbound::Event { channel: ch, key: Some(k), .. } if ch == channel && k == key);
            match c.queue.iter().position(same) {
                Some(at) => c.queue[at] = item,
                None => return Self::overflow(c),
            }
        } else {
            return Self::overflow(c);
        }
        c.wake.notify_one();
        true
    }

    fn overflow(c: &mut Connection) -> bool {
        c.queue.clear();
        let resume = c.sent.map(|id| id.to_string()).unwrap_or_default();
        c.queue.push_back(Outbound::Close(1013, format!("too slow: resume from {resume}")));
        c.closing = true;
        c.wake.notify_one();
        false
    }

    /// Queue a frame of the component's.
    pub fn send(&self, id: &str, item: Outbound) -> Result<(), Refused> {
        let limit = self.limits.send_queue;
        self.with(id, |c| {
            Self::push(c, limit, item);
        })
    }

    /// The next frame to send, if any.
    pub fn next(&self, id: &str) -> Option<Outbound> {
        self.lock().connections.get_mut(id).and_then(|c| c.queue.pop_front())
    }

    /// The writer sent this event.
    pub fn sent(&self, id: &str, event: EventId) {
        let _ = self.with(id, |c| c.sent = Some(c.sent.map_or(event, |s| s.max(event))));
    }

    pub fn subscribe(&self, id: &str, channels: &[String]) -> Result<(), Refused> {
        let mut inner = self.lock();
        let max = self.limits.max_subscriptions;
        let c = inner.connections.get_mut(id).ok_or(Refused::NoSuchConnection)?;
        let fresh: Vec<&String> = channels.iter().filter(|ch| !c.subscriptions.contains(*ch)).collect();
        if c.subscriptions.len() + fresh.len() > max {
            return Err(Refused::Limit(format!("a connection may hold {max} subscriptions; it has {}", c.subscriptions.len())));
        }
        c.subscriptions.extend(fresh.iter().map(|ch| ch.to_string()));
        for ch in channels {
            inner.by_channel.entry(ch.clone()).or_default().insert(id.to_string());
        }
        Ok(())
    }

    pub fn unsubscribe(&self, id: &str, channels: &[String]) -> Result<(), Refused> {
        let mut inner = self.lock();
        let c = inner.connections.get_mut(id).ok_or(Refused::NoSuchConnection)?;
        for ch in channels {
            c.subscriptions.remove(ch);
        }
        for ch in channels {
            if let Some(set) = inner.by_channel.get_mut(ch) {
                set.remove(id);
            }
        }
        Ok(())
    }

    pub fn subscriptions(&self, id: &str) -> Result<Vec<String>, Refused> {
        self.with(id, |c| {
            let mut out: Vec<String> = c.subscriptions.iter().cloned().collect();
            out.sort();
            out
        })
    }

    pub fn set_attachment(&self, id: &str, value: String) -> Result<(), Refused> {
        self.with(id, |c| c.attachment = Some(value))
    }

    pub fn attachment(&self, id: &str) -> Result<Option<String>, Refused> {
        self.with(id, |c| c.attachment.clone())
    }

    /// Queue `event` for `c` on the first of its channels `c` subscribes to; false when `c`
    /// takes none of them or got it already.
    fn offer(c: &mut Connection, limit: usize, event: &Event) -> bool {
        let Some(channel) = event.channels.iter().find(|ch| c.subscriptions.contains(*ch)) else { return false };
        if !c.delivered.insert(event.id) {
            return false;
        }
        if c.delivered.len() > DELIVERED_MEMORY {
            c.delivered.pop_first();
        }
        let frame = event.frame(channel);
        Self::push(c, limit, Outbound::Event { id: event.id, channel: channel.clone(), key: event.key.clone(), frame })
    }

    /// The live reader's delivery of one event to every live subscriber on this host.
    /// Returns how many connections got it.
    pub fn deliver(&self, event: &Event) -> usize {
        let mut inner = self.lock();
        let limit = self.limits.send_queue;
        let targets: HashSet<String> =
            event.channels.iter().filter_map(|ch| inner.by_channel.get(ch)).flat_map(|ids| ids.iter().cloned()).collect();
        let mut delivered = 0;
        for id in targets {
            if let Some(c) = inner.connections.get_mut(&id).filter(|c| c.mode == Mode::Live) {
                delivered += usize::from(Self::offer(c, limit, event));
            }
        }
        inner.live = inner.live.max(event.id);
        delivered
    }

    /// Where the live reader stands (set once at start-up to the stream's newest entry).
    pub fn set_live(&self, id: EventId) {
        let mut inner = self.lock();
        inner.live = inner.live.max(id);
    }

    /// Take the connection off the live reader while it catches up from the stream.
    pub fn begin_catch_up(&self, id: &str) -> Result<(), Refused> {
        self.with(id, |c| c.mode = Mode::CatchingUp)
    }

    /// Deliver catch-up events (those the connection did not get yet, on its channels).
    pub fn catch_up(&self, id: &str, events: &[Event]) -> Result<u32, Refused> {
        let limit = self.limits.send_queue;
        self.with(id, |c| events.iter().map(|e| u32::from(Self::offer(c, limit, e))).sum())
    }

    /// Hand the connection back to the live reader if the catch-up reached `position`, where
    /// the live reader stands; false means more events came meanwhile: read on.
    pub fn finish_catch_up(&self, id: &str, position: EventId) -> Result<bool, Refused> {
        let mut inner = self.lock();
        let live = inner.live;
        let c = inner.connections.get_mut(id).ok_or(Refused::NoSuchConnection)?;
        if position >= live {
            c.mode = Mode::Live;
            return Ok(true);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ms: u64, channels: &[&str], key: Option<&str>) -> Event {
        Event {
            id: EventId(ms, 0),
            channels: channels.iter().map(|c| c.to_string()).collect(),
            kind: "battle.updated".into(),
            key: key.map(str::to_string),
            data: "{}".into(),
        }
    }

    fn registry(send_queue: usize) -> Registry {
        Registry::new(Limits { max_connections: 2, max_subscriptions: 3, send_queue })
    }

    #[test]
    fn events_reach_subscribers_once_on_the_first_matching_channel() {
        let r = registry(8);
        r.open("a", false).unwrap();
        r.open("b", false).unwrap();
        r.subscribe("a", &["alliance:1".into(), "system:2".into()]).unwrap();
        assert_eq!(r.deliver(&event(1, &["system:2", "alliance:1"], None)), 1);
        assert!(matches!(r.next("a"), Some(Outbound::Event { channel, .. }) if channel == "system:2"));
        assert_eq!(r.next("a"), None);
        assert_eq!(r.next("b"), None, "b subscribes to nothing");
        assert!(r.open("c", false).is_err(), "two connections at most");
    }

    #[test]
    fn limits_on_subscriptions() {
        let r = registry(8);
        r.open("a", false).unwrap();
        r.subscribe("a", &["x".into(), "y".into(), "z".into()]).unwrap();
        assert!(matches!(r.subscribe("a", &["w".into()]), Err(Refused::Limit(_))));
        r.subscribe("a", &["x".into()]).unwrap();
        assert_eq!(r.subscribe("nobody", &["x".into()]), Err(Refused::NoSuchConnection));
    }

    #[test]
    fn a_full_queue_coalesces_by_key_then_closes_with_the_resume_position() {
        let r = registry(2);
        r.open("slow", false).unwrap();
        r.subscribe("slow", &["battle:1".into(), "all:*".into()]).unwrap();
        r.deliver(&event(1, &["battle:1"], Some("b1")));
        if let Some(Outbound::Event { id, .. }) = r.next("slow") {
            r.sent("slow", id);
        }
        r.deliver(&event(2, &["battle:1"], Some("b1")));
        r.deliver(&event(3, &["all:*"], Some("b2")));
        r.deliver(&event(4, &["battle:1"], Some("b1")));
        let ids = |r: &Registry| -> Vec<u64> {
            let mut out = Vec::new();
            while let Some(o) = r.next("slow") {
                if let Outbound::Event { id, .. } = o {
                    out.push(id.0);
                }
            }
            out
        };
        assert_eq!(ids(&r), [4, 3], "event 4 replaced event 2 of the same battle");
        r.deliver(&event(5, &["battle:1"], Some("b1")));
        r.deliver(&event(6, &["all:*"], Some("b6")));
        r.deliver(&event(7, &["all:*"], Some("b7")));
        assert_eq!(r.next("slow"), Some(Outbound::Close(1013, "too slow: resume from 1-0".into())));
        assert_eq!(r.next("slow"), None);
        assert_eq!(r.deliver(&event(8, &["all:*"], None)), 0, "nothing after the close");
    }

    #[test]
    fn a_resuming_connection_gets_what_it_missed_in_order_then_live_events() {
        let r = registry(16);
        r.open("a", true).unwrap();
        r.subscribe("a", &["c".into()]).unwrap();
        assert_eq!(r.deliver(&event(5, &["c"], None)), 0, "the live reader skips a connection catching up");
        let history: Vec<Event> = (3..=5).map(|ms| event(ms, &["c"], None)).collect();
        assert_eq!(r.catch_up("a", &history).unwrap(), 3);
        assert!(!r.finish_catch_up("a", EventId(4, 0)).unwrap(), "the live reader is further on: read on");
        assert!(r.finish_catch_up("a", EventId(5, 0)).unwrap());
        assert_eq!(r.catch_up("a", &[event(5, &["c"], None)]).unwrap(), 0, "never twice");
        assert_eq!(r.deliver(&event(6, &["c"], None)), 1);
        let mut order = Vec::new();
        while let Some(Outbound::Event { id, .. }) = r.next("a") {
            order.push(id.0);
        }
        assert_eq!(order, [3, 4, 5, 6]);
    }
}
