//! The `ddbsnap` binary: parse arguments, set up logging, run, map the
//! outcome to an exit code (0 ok, 1 checks found problems, 2 error).

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Like other Unix filters, stop quietly when the reader of stdout goes
    // away (`ddbsnap sql ... | head`) instead of failing on a broken pipe.
    // SAFETY: called before any thread starts; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = ddbsnap::cli::Args::parse();
    ddbsnap::cli::init_logging(&args.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ddbsnap: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(ddbsnap::cli::run(args)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ddbsnap: error: {}", describe(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, each shown once. ddbsnap's errors (and
/// DataFusion's) already include their source in their own message, so
/// anyhow's `{:#}` alone would print a cause two or more times.
fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
