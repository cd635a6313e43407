//! [`lock`]: the one way the drivers take a mutex.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, recovering the data if a thread panicked while holding it: the
/// protocol core's state is consistent between calls, so going on is safe.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
