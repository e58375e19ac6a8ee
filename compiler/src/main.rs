//! The `amlc` binary: parse arguments, run the command, exit with its status.

mod cli;

// Allocation is a quarter of a build's instructions with the system allocator (README,
// "Performance"); mimalloc does the same work in about half. Transparent huge pages are
// off (feature `no_thp`): with them one build's peak memory grows from 19 to 28 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() {
    let cli = match cli::args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version are successes; usage errors are invalid input (exit 2).
            let _ = e.print();
            std::process::exit(if e.use_stderr() {
                cli::ExitStatus::Invalid as i32
            } else {
                0
            });
        }
    };
    // The command runs on rayon's pool rather than beside it: its parallel steps then
    // start on a worker's own queue instead of being sent across and waited for, and two
    // cores run two busy threads, not three.
    std::process::exit(rayon::scope(|_| cli::run(cli)) as i32);
}
