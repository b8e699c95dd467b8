//! A devnet with a funded job on the demo counter, and helpers.

use std::{collections::HashSet, sync::Arc};

use alloy::{providers::Provider, rpc::types::Filter, sol_types::SolEvent};
use alloy_json_abi::JsonAbi;
use alloy_primitives::{Address, B256, U256};
use anyhow::{Context, Result};
use triggerx_core::{
    JobId, TaskId, Timestamp,
    chain::{
        ChainClient, FailoverClient, FailoverConfig,
        anvil::{Anvil, AnvilOptions, Devnet, DevnetOptions},
        contracts::{Counter, TaskHub},
    },
    ids::Occurrence,
    types::{Action, Arguments},
};

pub(crate) struct Env {
    pub(crate) anvil: Anvil,
    pub(crate) devnet: Devnet,
    pub(crate) job: JobId,
    pub(crate) action: Action,
}

impl Env {
    pub(crate) async fn start() -> Result<Self> {
        let anvil = Anvil::start(AnvilOptions::default())
            .await
            .context("start anvil")?;
        let devnet = Devnet::deploy(&anvil, DevnetOptions::default())
            .await
            .context("deploy")?;
        let owner = devnet.users[0].clone();
        let far_future = 4_000_000_000u64;
        let job = devnet
            .create_job(&owner, devnet.addresses.counter, far_future)
            .await?;
        devnet
            .deposit(
                owner.address(),
                U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64)),
            )
            .await?;
        let function = alloy_json_abi::Function::parse("increment()")?;
        let calldata = function.selector().to_vec().into();
        let action = Action {
            chain_id: devnet.chain_id,
            target: devnet.addresses.counter,
            function,
            value: U256::ZERO,
            gas_limit: Some(100_000),
            arguments: Arguments::Static {
                values: vec![],
                calldata,
            },
        };
        Ok(Self {
            anvil,
            devnet,
            job,
            action,
        })
    }

    pub(crate) fn hub(&self) -> Address {
        self.devnet.addresses.task_hub
    }

    pub(crate) fn client(&self) -> Result<Arc<dyn ChainClient>> {
        Ok(Arc::new(FailoverClient::http(
            &[self.devnet.endpoint.as_str()],
            FailoverConfig::default(),
        )?))
    }

    /// The task id of the `i`-th firing of the job (a time occurrence at second `i`).
    pub(crate) fn task(&self, i: u64) -> TaskId {
        Occurrence::Time {
            job: self.job,
            due: Timestamp::from_secs(i as i64),
        }
        .task_id()
    }

    /// Sends an anvil control call straight to anvil (never through a fault proxy).
    pub(crate) async fn control(
        &self,
        method: &'static str,
        params: serde_json::Value,
    ) -> Result<()> {
        let _: serde_json::Value = self
            .devnet
            .provider
            .raw_request(method.into(), params)
            .await
            .context(method)?;
        Ok(())
    }

    pub(crate) async fn nonce_latest(&self, who: Address) -> Result<u64> {
        Ok(self
            .devnet
            .provider
            .get_transaction_count(who)
            .latest()
            .await?)
    }

    pub(crate) async fn nonce_pending(&self, who: Address) -> Result<u64> {
        Ok(self
            .devnet
            .provider
            .get_transaction_count(who)
            .pending()
            .await?)
    }

    pub(crate) async fn counter(&self) -> Result<U256> {
        let c = Counter::new(self.devnet.addresses.counter, self.devnet.provider.clone());
        Ok(c.count().call().await?)
    }

    pub(crate) async fn executed(&self, task: TaskId) -> Result<bool> {
        let hub = TaskHub::new(self.hub(), self.devnet.provider.clone());
        Ok(hub.executed(task.0).call().await?)
    }

    /// Task ids of every `TaskExecuted` event the hub emitted, in order.
    pub(crate) async fn executed_events(&self) -> Result<Vec<B256>> {
        let filter = Filter::new()
            .address(self.hub())
            .event_signature(TaskHub::TaskExecuted::SIGNATURE_HASH)
            .from_block(0);
        let logs = self.devnet.provider.get_logs(&filter).await?;
        logs.iter()
            .map(|l| Ok(TaskHub::TaskExecuted::decode_log_data(l.data())?.taskId))
            .collect()
    }

    /// Asserts each task id in `tasks` was executed exactly once, and nothing else was.
    pub(crate) async fn assert_each_executed_once(&self, tasks: &[TaskId]) -> Result<()> {
        let events = self.executed_events().await?;
        let distinct: HashSet<B256> = events.iter().copied().collect();
        assert_eq!(distinct.len(), events.len(), "a task id executed twice");
        let wanted: HashSet<B256> = tasks.iter().map(|t| t.0).collect();
        assert_eq!(
            distinct, wanted,
            "executed task ids differ from the submitted ones"
        );
        for t in tasks {
            assert!(self.executed(*t).await?, "hub does not mark {t} executed");
        }
        assert_eq!(self.counter().await?, U256::from(tasks.len()));
        Ok(())
    }
}

/// Custom errors of the hub and the counter, from the committed artifacts.
pub(crate) fn known_errors() -> Vec<alloy_json_abi::Error> {
    let mut out = Vec::new();
    for text in [
        include_str!("../../../triggerx-core/contracts/artifacts/TaskHub.json"),
        include_str!("../../../triggerx-core/contracts/artifacts/Counter.json"),
    ] {
        let artifact: serde_json::Value = serde_json::from_str(text).expect("artifact json");
        let abi: JsonAbi = serde_json::from_value(artifact["abi"].clone()).expect("artifact abi");
        out.extend(abi.errors().cloned());
    }
    out
}
