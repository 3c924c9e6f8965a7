//! One way to take a lock: a panic elsewhere while it was held leaves the
//! data as that code left it, which every user here can live with (caches,
//! clocks, registries of waiters), so the poison is ignored rather than
//! spread to every later caller.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`, recovering the guard from a poisoned lock.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
