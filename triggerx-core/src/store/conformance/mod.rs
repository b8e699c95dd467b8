//! The storage conformance suite: every backend must pass every case.
//!
//! Each case is a function taking an [`Opener`], which opens (or creates) a store at a path;
//! a case makes its own temporary directory, so every case starts from an empty store. An
//! in-memory backend ignores the path. Run the suite from a test file with
//! [`store_conformance_tests!`](crate::store_conformance_tests), which makes one `#[test]` per
//! case:
//!
//! ```ignore
//! mod sqlite {
//!     use triggerx_core::store::{Store, sqlite::SqliteStore};
//!     triggerx_core::store_conformance_tests!(persistent |p: &std::path::Path| {
//!         Box::new(SqliteStore::open(p).expect("open")) as Box<dyn Store>
//!     });
//! }
//! ```
//!
//! `persistent` adds the file-backend cases: reopen-after-close and a writer process killed
//! with SIGKILL mid-batch (the test binary re-executes itself as the child).

/// `assert_err!(result, pattern)`: the result is an error matching the pattern.
macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected {}, got {other:?}", stringify!($pattern)),
        }
    };
}

mod durability;
mod feed;
pub mod fixtures;
mod jobs;
mod records;
mod tasks;

use std::path::Path;

pub use durability::{
    CRASH_BATCH, CRASH_ENV, concurrent_writers, crash_child, reopen_keeps_everything, retrying,
    sigkill_mid_batch,
};
pub use feed::job_change_feed;
pub use jobs::{job_crud, job_listing, job_set, job_status_cas};
pub use records::{checkpoints, keeper_field_owners, keepers, users_and_api_keys};
pub use tasks::{batch_atomicity, task_idempotent_creation, task_transitions};

use super::Store;

/// Opens (creating if needed) a store at a path.
pub type Opener<'a> = dyn Fn(&Path) -> Box<dyn Store> + 'a;

/// A fresh store in a fresh temporary directory (kept alive by the returned guard).
fn fresh(open: &Opener<'_>) -> (tempfile::TempDir, Box<dyn Store>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir.path().join("store.db"));
    (dir, store)
}

/// One conformance case.
pub type Case = fn(&Opener<'_>);

/// The cases every backend runs, by name.
pub const CASES: &[(&str, Case)] = &[
    ("job_crud", job_crud),
    ("job_listing", job_listing),
    ("job_status_cas", job_status_cas),
    ("job_change_feed", job_change_feed),
    ("task_idempotent_creation", task_idempotent_creation),
    ("task_transitions", task_transitions),
    ("batch_atomicity", batch_atomicity),
    ("checkpoints", checkpoints),
    ("keepers", keepers),
    ("keeper_field_owners", keeper_field_owners),
    ("users_and_api_keys", users_and_api_keys),
    ("concurrent_writers", concurrent_writers),
];

/// Runs every case of [`CASES`] in turn (one test for all; prefer
/// [`store_conformance_tests!`](crate::store_conformance_tests) for one test per case).
pub fn run_all(open: &Opener<'_>) {
    for (name, case) in CASES {
        eprintln!("storage conformance: {name}");
        case(open);
    }
}

/// Generates one `#[test]` per conformance case for a backend, given an expression of type
/// `Fn(&Path) -> Box<dyn Store>`. With `persistent`, also the reopen case and the SIGKILL
/// crash test (and its `#[ignore]`d child entry point, `crash_child`).
#[macro_export]
macro_rules! store_conformance_tests {
    (persistent $open:expr) => {
        $crate::store_conformance_tests!($open);
        $crate::store_conformance_tests!(@cases $open; reopen_keeps_everything);

        #[test]
        fn sigkill_mid_batch_leaves_no_partial_batch() {
            // libtest names tests by module path without the crate name.
            let child = match module_path!().split_once("::") {
                Some((_, module)) => format!("{module}::crash_child"),
                None => "crash_child".to_owned(),
            };
            $crate::store::conformance::sigkill_mid_batch(&$open, &child);
        }

        #[test]
        #[ignore = "the child process of sigkill_mid_batch_leaves_no_partial_batch"]
        fn crash_child() {
            $crate::store::conformance::crash_child(&$open);
        }
    };
    (@cases $open:expr; $($case:ident)+) => {
        $(
            #[test]
            fn $case() {
                $crate::store::conformance::$case(&$open);
            }
        )+
    };
    ($open:expr) => {
        $crate::store_conformance_tests!(@cases $open;
            job_crud job_listing job_status_cas job_change_feed task_idempotent_creation task_transitions
            batch_atomicity checkpoints keepers keeper_field_owners users_and_api_keys
            concurrent_writers);
    };
}
