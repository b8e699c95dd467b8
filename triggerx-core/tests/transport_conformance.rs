//! The transport conformance suite on the in-process backend.
#![cfg(all(feature = "chain", feature = "test-utils"))]

use std::{collections::HashSet, sync::Arc};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use triggerx_core::{
    clock::SystemClock,
    transport::{
        Members, Transport,
        conformance::{self, Harness},
        inprocess::{Config, InProcessNetwork},
    },
};

struct InProcess {
    network: InProcessNetwork,
}

#[async_trait::async_trait]
impl Harness for InProcess {
    fn chain_id(&self) -> u64 {
        31337
    }

    async fn start(&self, keys: Vec<PrivateKeySigner>) -> Vec<Arc<dyn Transport>> {
        let members: HashSet<Address> = keys.iter().map(|k| k.address()).collect();
        let members = Arc::new(Members(members));
        let nodes: Vec<Arc<dyn Transport>> = keys
            .into_iter()
            .map(|k| {
                Arc::new(self.network.join(k, members.clone(), Arc::new(SystemClock)))
                    as Arc<dyn Transport>
            })
            .collect();
        // Keep the nodes alive for the rest of the test run.
        Box::leak(Box::new(nodes.clone()));
        nodes
    }

    async fn inject(&self, to: Address, frame: Vec<u8>) {
        assert!(self.network.inject(to, frame), "node {to} is reachable");
    }
}

#[tokio::test]
async fn in_process_backend_conforms() {
    let h = InProcess {
        network: InProcessNetwork::new(Config::default()),
    };
    conformance::run_all(&h).await;
}
