//! Micro-benchmarks: inflate + parse throughput (bytes of uncompressed JSON per second), and
//! graph building / taint propagation, on a trail from the project's own generator.
//! Run with `cargo bench`; the whole-process comparison is `benches/compare.sh`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark prints its figures

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use trailhound::ingest::{decompress, parse};

fn trail() -> (tempfile::TempDir, Vec<Vec<u8>>) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let opts = trailhound::gen::GenOptions {
        out_dir: dir.path().to_path_buf(),
        hours: 24,
        ..Default::default()
    };
    trailhound::gen::generate(&opts).expect("generate");
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "gz") {
                files.push(std::fs::read(&p).expect("read"));
            }
        }
    }
    files.sort();
    (dir, files)
}

fn ingest(c: &mut Criterion) {
    let (_dir, files) = trail();
    let mut out = Vec::new();
    let total: u64 = files
        .iter()
        .map(|f| {
            decompress::gunzip_into(f, &mut out, 1 << 30).expect("gunzip");
            out.len() as u64
        })
        .sum();
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Bytes(total));
    g.bench_function("inflate", |b| {
        b.iter(|| {
            for f in &files {
                decompress::gunzip_into(f, &mut out, 1 << 30).expect("gunzip");
                black_box(out.len());
            }
        })
    });
    let mut buffers = simd_json::Buffers::default();
    g.bench_function("inflate+parse", |b| {
        b.iter(|| {
            for f in &files {
                decompress::gunzip_into(f, &mut out, 1 << 30).expect("gunzip");
                let mut sink = parse::Parsed::all(0);
                parse::parse_document(&mut out, &mut buffers, &mut sink).expect("parse");
                black_box(sink.events.len());
            }
        })
    });
    g.finish();
}

fn analysis(c: &mut Criterion) {
    let (dir, _files) = trail();
    let opts = trailhound::ingest::IngestOptions {
        inputs: vec![dir.path().to_path_buf()],
        ..Default::default()
    };
    let ing = trailhound::ingest::ingest(&opts).expect("ingest");
    let mut g = c.benchmark_group("analysis");
    g.throughput(Throughput::Elements(ing.stubs.len() as u64));
    g.bench_function("build_graph", |b| {
        b.iter(|| black_box(trailhound::chain::SessionGraph::build(&ing).nodes.len()))
    });
    let graph = trailhound::chain::SessionGraph::build(&ing);
    let seeds = vec![trailhound::blast::SeedKey::parse("AKIAIOSFODNN7EXAMPLE")];
    g.bench_function("blast", |b| {
        b.iter(|| {
            black_box(trailhound::blast::blast(&ing, &graph, &seeds, false).expect("blast").events)
        })
    });
    g.finish();
}

criterion_group!(benches, ingest, analysis);
criterion_main!(benches);
