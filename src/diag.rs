//! Diagnostics on stderr: the progress-bar factory, the timing marks and the memory notes.
//!
//! stdout carries data only (JSON, tables, reports); everything a human should notice about
//! the run goes to stderr. Bars are drawn only when asked for and stderr is a terminal, so
//! JSON output and pipes stay clean. The summary of an ingest's input problems is
//! [`crate::ingest::report_problems`].

// The output layer for diagnostics (Cargo.toml denies printing everywhere else).
#![allow(clippy::print_stderr)]

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A byte-counting progress bar on stderr, or a hidden one when `enabled` is false or stderr
/// is not a terminal.
pub fn progress_bar(enabled: bool, total_bytes: u64, msg: &'static str) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(msg);
    bar
}

/// Current and peak resident memory of this process, for `TRAILHOUND_TIMING=1` output
/// (Linux `/proc/self/status`; empty elsewhere).
pub fn memory_note() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    format!("RSS {} (peak {}){}", field("VmRSS:"), field("VmHWM:"), cpu_note())
}

/// The CPU time of the whole process so far (every thread, user and system), to set beside
/// the wall time of a mark: their ratio over a phase says how much of it used both cores.
fn cpu_note() -> String {
    // The `timespec` below is the 64-bit Linux layout.
    #[cfg(all(target_os = "linux", target_env = "gnu", target_pointer_width = "64"))]
    {
        #[repr(C)]
        struct Timespec {
            sec: i64,
            nsec: i64,
        }
        extern "C" {
            fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
        }
        const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
        let mut t = Timespec { sec: 0, nsec: 0 };
        // SAFETY: clock_gettime writes one timespec, which `t` is (64-bit Linux layout).
        if unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut t) } == 0 {
            return format!("; cpu {:.1} ms", t.sec as f64 * 1e3 + t.nsec as f64 / 1e6);
        }
    }
    String::new()
}

/// Prints one `TRAILHOUND_TIMING` line (the caller checked that timing is on).
pub fn timing(line: std::fmt::Arguments) {
    eprintln!("trailhound: timing: {line}");
}

/// With `TRAILHOUND_TIMING=1`, prints a phase mark with the time since start and the memory.
pub fn mark(phase: &str) {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = *START.get_or_init(std::time::Instant::now);
    if std::env::var_os("TRAILHOUND_TIMING").is_some() {
        eprintln!("trailhound: timing: {phase} at {:?}; {}", start.elapsed(), memory_note());
    }
}

/// Gives the heap's free pages back to the system (glibc keeps freed memory of its per-thread
/// arenas mapped until told otherwise); a no-op elsewhere.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only walks the allocator's own free lists; no Rust state involved.
        unsafe {
            malloc_trim(0);
        }
    }
}
