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
    std::process::exit(rayon::scope(|_| cli::run(cli)) as i32);
}
