//! [`lock`]: the one way the drivers take a mutex, and the mutex they take.
//!
//! parking_lot's rather than std's: it does not poison, and std's poison
//! checks (whether the thread is panicking, at each lock and unlock) were
//! a tenth of the blocking driver's own instructions per echo round trip
//! (callgrind). Without poisoning, the data a panicking thread held stays
//! usable, which is what the drivers want: the protocol core's state is
//! consistent between calls, so going on is safe.

pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};

/// Locks `m`.
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock()
}
