//! The storage conformance suite against every bundled backend.
#![cfg(feature = "test-utils")]

mod memory {
    use triggerx_core::store::{MemoryStore, Store};

    triggerx_core::store_conformance_tests!(|_: &std::path::Path| {
        Box::new(MemoryStore::new()) as Box<dyn Store>
    });

    #[test]
    fn run_all_passes_through_arc_dyn_store() {
        // The forwarding impls: an `Arc<dyn Store>` is itself a `Store`.
        triggerx_core::store::conformance::run_all(&|_: &std::path::Path| {
            let shared: std::sync::Arc<dyn Store> = std::sync::Arc::new(MemoryStore::new());
            Box::new(shared) as Box<dyn Store>
        });
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use triggerx_core::store::{Store, sqlite::SqliteStore};

    triggerx_core::store_conformance_tests!(persistent |p: &std::path::Path| {
        Box::new(SqliteStore::open(p).expect("open sqlite")) as Box<dyn Store>
    });
}

#[cfg(feature = "redb")]
mod redb {
    use triggerx_core::store::{Store, redb::RedbStore};

    triggerx_core::store_conformance_tests!(persistent |p: &std::path::Path| {
        Box::new(RedbStore::open(p).expect("open redb")) as Box<dyn Store>
    });
}
