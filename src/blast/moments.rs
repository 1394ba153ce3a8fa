//! What the report's timeline reads of each tainted event: its time, account, call and the
//! credential that signed it, a few dozen bytes with the strings held once, instead of the
//! event in full (about 3.4 KB as an [`Event`]). `investigate` keeps these for every tainted
//! event, and in full only the calls its findings read (persistence, failures), and writes
//! `tainted-events.parquet` a batch at a time, so that its memory does not grow with the events
//! in full: 300,000 `GetObject` calls signed by the leaked key took it to 1.75 GB when it held
//! them all.

use crate::ingest::{StringList, Strings};
use crate::model::Event;

/// One tainted event as the timeline reads it; the strings are numbers into
/// [`Moments::str`] ([`NONE`](crate::ingest::NONE) for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    /// `eventTime`, unix seconds.
    pub time: i64,
    /// The account the event belongs to ([`crate::model::Event::account`]).
    pub account: u32,
    /// `eventName`.
    pub name: u32,
    /// The access key that signed it.
    pub key: u32,
    /// The `creationDate` of the session that signed it.
    pub created: Option<i64>,
}

impl Moment {
    /// The moment of `e`, its strings interned in `strings`.
    pub fn of(e: &Event, strings: &mut Strings) -> Moment {
        Moment {
            time: e.time,
            account: strings.opt(e.account()),
            name: strings.intern(&e.name),
            key: strings.opt(e.identity.access_key_id.as_deref()),
            created: e.identity.creation_date,
        }
    }
}

/// The [`Moment`]s of the tainted events, in time order, and their strings.
#[derive(Debug, Default)]
pub struct Moments {
    strings: StringList,
    list: Vec<Moment>,
}

impl Moments {
    /// Each event's moment at its position (in time order), whatever the order `events` come
    /// in; `strings`, what they were interned in.
    pub fn of(events: impl IntoIterator<Item = (usize, Moment)>, strings: Strings) -> Moments {
        let mut all: Vec<(usize, Moment)> = events.into_iter().collect();
        all.sort_by_key(|m| m.0);
        Moments { strings: strings.into_list(), list: all.into_iter().map(|m| m.1).collect() }
    }

    /// The moments, in time order.
    pub fn list(&self) -> &[Moment] {
        &self.list
    }

    /// The string numbered `i`; `None` for [`NONE`](crate::ingest::NONE).
    pub fn str(&self, i: u32) -> Option<&str> {
        self.strings.get(i as usize)
    }
}
