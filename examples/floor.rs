//! The floor for trailhound's first pass (benches/compare.sh): read and inflate every file
//! and parse it with a typed, borrowing serde struct that extracts only the fields a key
//! search needs, on all cores (rayon over files), counting the records signed by a key.
//! Nothing is kept, nothing is checked: what any tool reading these files must at least pay.
//!
//! Usage: `floor LIST KEY` where LIST is a file of paths, one per line.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use rayon::prelude::*;
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<Rec<'a>>,
}

#[derive(Deserialize)]
struct Rec<'a> {
    #[serde(rename = "eventID", borrow)]
    _event_id: Option<Cow<'a, str>>,
    #[serde(rename = "eventTime", borrow)]
    _event_time: Option<Cow<'a, str>>,
    #[serde(rename = "userIdentity", borrow)]
    user: Option<User<'a>>,
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(rename = "accessKeyId", borrow)]
    key: Option<Cow<'a, str>>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(list), Some(key)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: floor LIST KEY");
        std::process::exit(2);
    };
    let files: Vec<String> =
        std::fs::read_to_string(list).expect("list").lines().map(str::to_string).collect();
    let (records, hits) = files
        .par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(raw, doc), f| {
                raw.clear();
                use std::io::Read;
                std::fs::File::open(f).and_then(|mut h| h.read_to_end(raw)).expect("read");
                trailhound::ingest::decompress::gunzip_into(raw, doc, u64::MAX).expect("gzip");
                let d: Doc = serde_json::from_slice(doc).expect("json");
                let hits = d
                    .records
                    .iter()
                    .filter(|r| r.user.as_ref().and_then(|u| u.key.as_deref()) == Some(key))
                    .count();
                (d.records.len(), hits)
            },
        )
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!("{records} records, {hits} signed by {key}");
}
