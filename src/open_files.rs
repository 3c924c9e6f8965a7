//! Every charger and HTTP connection holds a file descriptor. A process
//! that runs out of them fails in odd places — measured: past the limit,
//! chargers' BootNotifications were answered InternalError because the
//! store could not open what it needed — so at start evgate raises its
//! soft open-file limit to the hard one and, when the connection limits
//! still do not fit under it, lowers the charger limit: chargers beyond it
//! get the busy answer (503 with Retry-After) and try again later.

/// Descriptors kept for everything but connections: the database and its
/// journal files, the PostgreSQL and Redis pools, listeners, the runtime,
/// outbound webhooks and partner pushes.
pub const RESERVED: u64 = 512;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (as far as the kernel
/// allows) and returns the soft limit in force afterwards; `None` where
/// the limit cannot be read.
#[cfg(unix)]
pub fn raise_to_hard_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current?;
    // No hard limit: nothing to raise to that the kernel would take.
    let Some(hard) = limit.maximum else {
        return Some(current);
    };
    if current < hard {
        let raised = rustix::process::Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            return Some(hard);
        }
    }
    Some(current)
}

/// Elsewhere the limit is not ours to read.
#[cfg(not(unix))]
pub fn raise_to_hard_limit() -> Option<u64> {
    None
}

/// The charger connection limit that fits beside `http_max` HTTP
/// connections under `open_files` descriptors; `wanted` when it fits.
pub fn charger_limit_that_fits(wanted: u64, http_max: u64, open_files: u64) -> u64 {
    let room = open_files.saturating_sub(http_max).saturating_sub(RESERVED);
    wanted.min(room).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_that_fits_is_kept() {
        assert_eq!(charger_limit_that_fits(60_000, 4_096, 1_048_576), 60_000);
    }

    #[test]
    fn a_limit_over_the_open_files_is_lowered_below_them() {
        // This development machine: a hard limit of 20,000 descriptors.
        assert_eq!(
            charger_limit_that_fits(60_000, 4_096, 20_000),
            20_000 - 4_096 - RESERVED
        );
    }

    #[test]
    fn never_below_one() {
        assert_eq!(charger_limit_that_fits(60_000, 4_096, 1_024), 1);
    }
}
