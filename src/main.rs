//! The `trailhound` binary: parse the command line, run, map the outcome to an exit code.

#![allow(clippy::print_stderr)] // the binary reports a fatal error itself

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOC: trailhound::arena::Alloc = trailhound::arena::Alloc;

fn main() -> ExitCode {
    let cli = trailhound::cli::Cli::parse();
    let outcome = trailhound::app::run(cli);
    // What `--cache` is still writing in the background is finished before the process ends.
    trailhound::ingest::wait_for_cache_writes();
    match outcome {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            // A closed pipe on stdout (`trailhound … | head`) is not an error.
            let broken_pipe = err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            // A message can name a file of the evidence (a name the attacker chose): no escape
            // sequence of it reaches the terminal raw (SPEC §9).
            eprintln!("trailhound: error: {}", trailhound::app::error_text(&err));
            ExitCode::from(trailhound::app::Exit::Fatal as u8)
        }
    }
}
