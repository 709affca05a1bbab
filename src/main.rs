//! The `ddbsnap` binary: parse arguments, set up logging, run, map the
//! outcome to an exit code (0 ok, 1 checks found problems, 2 error).

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc returns freed memory to the system after 10 ms by default.
/// Planning and loading free and reallocate hundreds of megabytes batch after
/// batch, so the kernel zeroed the same pages again and again (a tenth of a
/// 2M-item plan's CPU time). Keeping freed memory for a second cut the plan
/// from 39.5 s to 33.1 s and lowered its peak (1.91 GB to 1.83 GB). An
/// explicit MIMALLOC_PURGE_DELAY in the environment still wins.
///
/// (Committing arenas on demand, MIMALLOC_ARENA_EAGER_COMMIT=0, lowered a
/// 2M-item read's peak from about 0.98 GB to 0.80 GB when set in the
/// environment, but setting it here has no effect: mimalloc reserves its
/// first arena before `main` runs.)
fn keep_freed_memory() {
    /// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (the version
    /// libmimalloc-sys 0.1.49 builds; its Rust constants predate v3).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one option value; mimalloc reads it when it next purges.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 1000) };
    }
}

/// Transparent huge pages are turned off for this process. mimalloc asks
/// for them on its arenas, and every first touch of a 2 MiB page then has
/// the kernel zero all of it: raw columns allocated batch after batch made
/// that an eighth of a 2M-item plan's CPU time (`perf`: clear_page_erms
/// under do_huge_pmd_anonymous_page). Without them, alternating 4 runs each
/// on the 2M-item export: plan 21.7 s against 24.4 s (system time 2.3 s
/// against 6.3 s, peak 1.44 GB against 1.58 GB), read and count 4.9 s
/// against 5.3 s (peak 0.80 GB against 1.01 GB). The prctl reaches the
/// arena mimalloc reserved before `main`; the option keeps mimalloc from
/// asking again. MIMALLOC_ALLOW_THP in the environment still wins.
fn no_transparent_huge_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return;
    }
    /// `mi_option_allow_thp` in mimalloc v3's `mi_option_e`.
    const ALLOW_THP: libmimalloc_sys::mi_option_t = 43;
    // SAFETY: sets one option value, read when mimalloc next maps memory.
    unsafe { libmimalloc_sys::mi_option_set(ALLOW_THP, 0) };
    #[cfg(target_os = "linux")]
    // SAFETY: a process-wide flag with no pointers; failure (an old
    // kernel) leaves huge pages on, which is only slower.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    // Like other Unix filters, stop quietly when the reader of stdout goes
    // away (`ddbsnap sql ... | head`) instead of failing on a broken pipe.
    // SAFETY: called before any thread starts; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    keep_freed_memory();
    no_transparent_huge_pages();
    let args = ddbsnap::cli::Args::parse();
    ddbsnap::cli::init_logging(&args.global);
    // The async runtime, where DataFusion runs queries, has as many workers
    // as --threads, like the run's pool: --threads 1 means one of each.
    let workers = args.global.threads.filter(|n| *n > 0).unwrap_or_else(ddbsnap::env::cores);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ddbsnap: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    report_panics_in_one_line();
    let run = std::panic::AssertUnwindSafe(ddbsnap::cli::run(args));
    match runtime.block_on(futures::FutureExt::catch_unwind(run)) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(e)) => {
            eprintln!("ddbsnap: error: {}", ddbsnap::error::for_terminal(&describe(&e), 2000));
            ExitCode::from(2)
        }
        // A panic is a bug, never an answer: exit 2 like any other error
        // (not Rust's 101), with nothing written past the failure.
        Err(_) => ExitCode::from(2),
    }
}

/// Input must never reach a panic (the fuzz tests look for any), but if one
/// does, in ddbsnap or a library it uses, the user gets one line saying so
/// instead of a backtrace dump; RUST_BACKTRACE still gives the full report.
fn report_panics_in_one_line() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        if ddbsnap::error::panic_is_guarded() {
            return;
        }
        let what = ddbsnap::error::panic_message(info.payload());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!(
            "ddbsnap: error: internal error (a bug; please report it with the command that caused it): {}{at}",
            ddbsnap::error::brief(&what.unwrap_or_else(|| "panic".into()), 300)
        );
    }));
}

/// The error and its causes, each shown once. ddbsnap's errors (and
/// DataFusion's) already include their source in their own message, so
/// anyhow's `{:#}` alone would print a cause two or more times.
fn describe(e: &anyhow::Error) -> String {
    // DataFusion appends an invitation to report its own bug to messages
    // that are about the user's SQL (a function without a matching
    // signature): it is noise here.
    const BOILERPLATE: &str = "\nThis issue was likely caused by a bug in DataFusion's code. Please help us to resolve this by filing a bug report in our issue tracker: https://github.com/apache/datafusion/issues";
    let mut text = e.to_string().replace(BOILERPLATE, "");
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
