//! Checkpoint, keeper, user and API key cases.

use alloy_primitives::B256;

use super::{Opener, fixtures::*, fresh};
use crate::{
    Error, Timestamp,
    store::{KeeperFilter, WriteBatch},
    types::Liveness,
};

/// Checkpoints: absent, stored, overwritten, arbitrary bytes, independent keys.
pub fn checkpoints(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    assert_eq!(store.get_checkpoint("events/31337").unwrap(), None);
    store.put_checkpoint("events/31337", b"block 10").unwrap();
    store.put_checkpoint("events/1", &[]).unwrap();
    let binary: Vec<u8> = (0..=255).collect();
    store.put_checkpoint("registrar", &binary).unwrap();
    assert_eq!(
        store.get_checkpoint("events/31337").unwrap().as_deref(),
        Some(&b"block 10"[..])
    );
    assert_eq!(store.get_checkpoint("events/1").unwrap(), Some(vec![]));
    assert_eq!(store.get_checkpoint("registrar").unwrap(), Some(binary));
    store.put_checkpoint("events/31337", b"block 11").unwrap();
    assert_eq!(
        store.get_checkpoint("events/31337").unwrap().as_deref(),
        Some(&b"block 11"[..])
    );
    assert_eq!(
        store.get_checkpoint("events/3133").unwrap(),
        None,
        "keys are exact"
    );
}

/// Keepers: upsert, filters, deregistration.
pub fn keepers(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    for n in 0..6 {
        let mut k = keeper(n);
        k.online = n % 2 == 0;
        store.upsert_keeper(&k).unwrap();
    }
    let mut k3 = keeper(3);
    k3.online = true;
    k3.points = "12.5".parse().unwrap();
    k3.last_checkin = Some(T0.add_millis(5));
    store.upsert_keeper(&k3).unwrap();
    assert_eq!(store.get_keeper(k3.address).unwrap(), Some(k3));
    assert_eq!(store.get_keeper(address(0xdead)).unwrap(), None);
    store.deregister_keeper(keeper(4).address).unwrap();
    assert_err!(
        store.deregister_keeper(address(0xdead)),
        Error::NotFound { .. }
    );
    let gone = store.get_keeper(keeper(4).address).unwrap().unwrap();
    assert!(!gone.registered && !gone.online);
    assert_eq!(gone.name, "keeper-4", "the record is kept");

    let names = |f: KeeperFilter| -> Vec<String> {
        store
            .list_keepers(&f)
            .unwrap()
            .into_iter()
            .map(|k| k.name)
            .collect()
    };
    assert_eq!(names(KeeperFilter::default()).len(), 6);
    assert_eq!(
        names(KeeperFilter::SELECTABLE),
        ["keeper-0", "keeper-2", "keeper-3"]
    );
    assert_eq!(
        names(KeeperFilter {
            registered: Some(false),
            online: None
        }),
        ["keeper-4"]
    );
    assert_eq!(
        names(KeeperFilter {
            registered: None,
            online: Some(false)
        }),
        ["keeper-1", "keeper-4", "keeper-5"]
    );
    let all = store.list_keepers(&KeeperFilter::default()).unwrap();
    assert!(
        all.windows(2).all(|w| w[0].address < w[1].address),
        "ordered by address"
    );
}

/// The registrar's and health's writes of one keeper never overwrite each other's part, even
/// from records read before the other's write.
pub fn keeper_field_owners(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    let k = keeper(1);
    // A new keeper is inserted whole.
    let mut b = WriteBatch::new();
    b.put_keeper_registration(k.clone());
    store.commit(&b).unwrap();
    assert_eq!(store.get_keeper(k.address).unwrap(), Some(k.clone()));

    // Health records a check-in; the registrar then writes points from its older copy.
    let seen = Liveness {
        online: true,
        last_checkin: Some(T0.add_millis(9)),
        peer_id: Some("peer-1".into()),
        version: Some("1.2.3".into()),
        uptime_secs: 60,
    };
    store.update_keeper_liveness(k.address, &seen).unwrap();
    let mut stale = k.clone();
    stale.points = "7.25".parse().unwrap();
    stale.executed_tasks = 3;
    let mut b = WriteBatch::new();
    b.put_keeper_registration(stale.clone());
    store.commit(&b).unwrap();
    let stored = store.get_keeper(k.address).unwrap().unwrap();
    assert_eq!(stored.liveness(), seen, "the registrar kept health's part");
    assert_eq!(
        (stored.points.clone(), stored.executed_tasks),
        (stale.points.clone(), 3)
    );

    // Health goes on from its own older copy: the registrar's part stays.
    let offline = Liveness {
        online: false,
        ..seen.clone()
    };
    store.update_keeper_liveness(k.address, &offline).unwrap();
    let stored = store.get_keeper(k.address).unwrap().unwrap();
    assert_eq!(stored.liveness(), offline);
    assert_eq!(
        (stored.points, stored.executed_tasks),
        (stale.points.clone(), 3)
    );
    assert_eq!(
        store.list_keepers(&KeeperFilter::SELECTABLE).unwrap(),
        vec![],
        "the online index follows the liveness write"
    );

    // Deregistration through the registrar's part also takes the keeper offline.
    store.update_keeper_liveness(k.address, &seen).unwrap();
    let mut removed = stale;
    removed.registered = false;
    let mut b = WriteBatch::new();
    b.put_keeper_registration(removed);
    store.commit(&b).unwrap();
    let stored = store.get_keeper(k.address).unwrap().unwrap();
    assert!(!stored.registered && !stored.online, "{stored:?}");
    assert_eq!(stored.last_checkin, seen.last_checkin);

    assert_err!(
        store.update_keeper_liveness(address(0xdead), &Liveness::default()),
        Error::NotFound { .. }
    );
}

/// Users and API keys.
pub fn users_and_api_keys(open: &Opener<'_>) {
    let (_dir, store) = fresh(open);
    let mut u = user(1);
    store.upsert_user(&u).unwrap();
    u.total_jobs = 9;
    store.upsert_user(&u).unwrap();
    assert_eq!(store.get_user(u.address).unwrap(), Some(u));
    assert_eq!(store.get_user(address(0xbeef)).unwrap(), None);

    for (id, owner) in [
        ("kb", "alice"),
        ("ka", "alice"),
        ("kc", "bob"),
        ("kd", "alice2"),
    ] {
        store.put_api_key(&api_key(id, owner)).unwrap();
    }
    let ids = |owner: &str| -> Vec<String> {
        store
            .list_api_keys(owner)
            .unwrap()
            .into_iter()
            .map(|k| k.id)
            .collect()
    };
    assert_eq!(ids("alice"), ["ka", "kb"]);
    assert_eq!(ids("bob"), ["kc"]);
    assert_eq!(ids("alic"), Vec::<String>::new(), "owners are exact");
    let ka = api_key("ka", "alice");
    assert_eq!(
        store.get_api_key_by_hash(ka.key_hash).unwrap(),
        Some(ka.clone())
    );
    assert_eq!(store.get_api_key_by_hash(B256::ZERO).unwrap(), None);

    store.set_api_key_active("ka", false).unwrap();
    assert!(
        !store
            .get_api_key_by_hash(ka.key_hash)
            .unwrap()
            .unwrap()
            .active
    );
    assert_err!(
        store.set_api_key_active("nope", false),
        Error::NotFound { .. }
    );

    // Another id cannot take an existing hash.
    let mut thief = api_key("kz", "mallory");
    thief.key_hash = ka.key_hash;
    assert_err!(store.put_api_key(&thief), Error::AlreadyExists { .. });
    assert_eq!(ids("mallory"), Vec::<String>::new());

    // Rotating a key's secret and owner moves both indexes.
    let mut rotated = api_key("kb", "carol");
    rotated.key_hash = B256::repeat_byte(0x77);
    rotated.last_used = Some(Timestamp::from_secs(5));
    store.put_api_key(&rotated).unwrap();
    assert_eq!(
        store
            .get_api_key_by_hash(api_key("kb", "alice").key_hash)
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_api_key_by_hash(rotated.key_hash).unwrap(),
        Some(rotated)
    );
    assert_eq!(ids("alice"), ["ka"]);
    assert_eq!(ids("carol"), ["kb"]);
}
