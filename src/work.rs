//! Where CPU-heavy work runs, so that the async workers answering requests never wait for it.
//!
//! * [`background`]: the work of an import or a rebuild (parsing, normalising, building a
//!   snapshot, rendering the ready feeds). Each job gets a thread of its own at lowered
//!   scheduling priority (nice 10 on Unix), so while an import runs the threads answering
//!   requests get the CPU first and their latency stays close to idle.
//! * [`blocking`]: work a request waits for (a filtered render), on tokio's blocking pool at
//!   normal priority.
//!
//! A panic in the work continues in the caller, as if the work had run inline.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// The nice value of background threads (0 is normal, 19 the lowest priority).
const BACKGROUND_NICE: i32 = 10;

/// Runs import or rebuild work on a thread of its own at lowered priority.
pub async fn background<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    start_background(work).await
}

/// Starts import or rebuild work on a thread of its own at lowered priority at once (not at
/// the first poll, as [`background`] does), so it runs while the caller goes on; the future
/// returned yields its result.
pub fn start_background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = T> + Send + 'static {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("regiocal-background".into())
        .spawn(move || {
            lower_priority();
            let _ = tx.send(catch_unwind(AssertUnwindSafe(work)));
        });
    // Like tokio's own blocking pool: a process that cannot start a thread cannot go on.
    if let Err(e) = spawned {
        panic!("cannot start a background thread: {e}");
    }
    async move {
        match rx.await {
            Ok(Ok(value)) => value,
            Ok(Err(panic)) => resume_unwind(panic),
            Err(_) => panic!("background thread ended without a result"),
        }
    }
}

/// Drops a large value (an old snapshot: hundreds of thousands of allocations) in the
/// background, so the thread that replaced it goes on at once.
pub fn drop_in_background<T: Send + 'static>(value: T) {
    let spawned = std::thread::Builder::new()
        .name("regiocal-drop".into())
        .spawn(move || {
            lower_priority();
            drop(value);
        });
    if let Err(e) = spawned {
        // The value was moved into the closure and dropped with it.
        tracing::warn!(error = %e, "Cannot start a thread; dropped the old snapshot in place.");
    }
}

/// Runs work a request waits for on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(e) => match e.try_into_panic() {
            Ok(panic) => resume_unwind(panic),
            // Only a runtime shutting down cancels blocking tasks; nothing waits for us then.
            Err(e) => panic!("blocking task cancelled: {e}"),
        },
    }
}

/// Lowers the calling thread's priority (on Linux the nice value belongs to the thread). A
/// refusal only costs latency, so it is ignored.
#[cfg(unix)]
fn lower_priority() {
    // SAFETY: setpriority only reads its integer arguments; `who = 0` names the calling thread.
    let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, BACKGROUND_NICE) };
}

#[cfg(not(unix))]
fn lower_priority() {}

/// Lowers the priority of this process's threads whose name starts with `prefix` (at most 15
/// bytes: Linux keeps no more of a thread's name) to that of background work. For threads a
/// library starts, such as the SQLite store's connection workers, which only imports and
/// pushes keep busy: requests are answered from the snapshot and never wait for them. Returns
/// how many threads were lowered; elsewhere than on Linux, none.
#[cfg(target_os = "linux")]
pub fn lower_threads_named(prefix: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut lowered = 0;
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<u32>().ok())
        else {
            continue;
        };
        let named = std::fs::read_to_string(task.path().join("comm"))
            .is_ok_and(|name| name.trim_end().starts_with(prefix));
        // SAFETY: setpriority only reads its integer arguments; on Linux `who` may name a
        // thread of this process.
        if named && unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, BACKGROUND_NICE) } == 0 {
            lowered += 1;
        }
    }
    lowered
}

#[cfg(not(target_os = "linux"))]
pub fn lower_threads_named(_prefix: &str) -> usize {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_work_returns_its_value_at_lower_priority() {
        let (value, nice) = background(|| {
            // SAFETY: getpriority only reads its integer arguments.
            let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
            (6 * 7, nice)
        })
        .await;
        assert_eq!(value, 42);
        assert_eq!(nice, BACKGROUND_NICE);
        // The caller's thread keeps its priority.
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }, 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn threads_are_lowered_by_name() {
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let (nice_tx, nice_rx) = std::sync::mpsc::channel();
        let worker = std::thread::Builder::new()
            .name("regiocal-t-lower".into())
            .spawn(move || {
                // The new thread names itself before it runs this: from here on it is found.
                let _ = started_tx.send(());
                let _ = wait.recv();
                // SAFETY: getpriority only reads its integer arguments.
                let _ = nice_tx.send(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) });
            })
            .unwrap();
        started.recv().unwrap();
        assert_eq!(lower_threads_named("regiocal-t-low"), 1);
        go.send(()).unwrap();
        assert_eq!(nice_rx.recv().unwrap(), BACKGROUND_NICE);
        worker.join().unwrap();
        // This thread is not named so and keeps its priority.
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }, 0);
    }

    #[tokio::test]
    async fn a_panic_continues_in_the_caller() {
        let caught = tokio::spawn(background(|| -> u8 { panic!("broken feed") })).await;
        let panic = caught.unwrap_err().into_panic();
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"broken feed"));
        assert_eq!(blocking(|| 7).await, 7);
    }
}
