//! Device state work: state changes, heketi's "remove" (every brick moved off a device,
//! journaled as `remove-device`, each move a nested `evict-brick`) and resync of a device's
//! figures from LVM.

use std::sync::Arc;

use super::error::OpError;
use super::op::{Cleaned, ExecFailure, OpId, Operation};
use super::{Engine, EngineError};
use crate::model::*;
use crate::store::{DeviceFigures, StoreResult, Tx};
use async_trait::async_trait;

/// Move every brick off an offline device, then mark it failed.
pub(super) struct RemoveDevice {
    device_id: String,
    heal_check: bool,
}

impl Engine {
    /// `POST /devices/{id}/state`.
    pub async fn device_state(
        self: &Arc<Self>,
        device_id: &str,
        state: EntryState,
        heal_check: bool,
    ) -> Result<String, EngineError> {
        let dev = self.store.read().device_row(device_id).await?;
        if dev.is_none_or(|d| d.pending_op.is_some()) {
            return Err(EngineError::IdNotFound);
        }
        let admission = self.admit()?;
        let engine = self.clone();
        let did = device_id.to_string();
        self.start_task(admission, async move {
            engine.change_device_state(&did, state, heal_check).await
        })
        .await
    }

    async fn change_device_state(
        &self,
        device_id: &str,
        to: EntryState,
        heal_check: bool,
    ) -> Result<(), OpError> {
        use EntryState::*;
        let dev = self
            .store
            .read()
            .device_row(device_id)
            .await?
            .ok_or_else(|| OpError::Missing("Id not found".into()))?;
        match (dev.state, to) {
            (from, to) if from == to => Ok(()),
            (Failed, Online) => Err(OpError::Refused(
                "Cannot move a failed/removed device to online state".into(),
            )),
            (Online, Failed) => Err(OpError::Refused(format!(
                "Device must be offline before remove operation is performed, device:{device_id}"
            ))),
            (Offline, Failed) => self.remove_device(device_id, heal_check).await,
            (_, to) => self.set_device_state(device_id, to).await,
        }
    }

    pub(super) async fn set_device_state(
        &self,
        device_id: &str,
        state: EntryState,
    ) -> Result<(), OpError> {
        let mut w = self.store.writer().await;
        let r: StoreResult<()> = async {
            let mut tx = w.begin().await?;
            tx.set_device_state(device_id, state).await?;
            tx.commit().await
        }
        .await;
        Ok(r?)
    }

    /// heketi's "remove": every brick moved off the device, then the device is failed.
    pub(super) async fn remove_device(
        &self,
        device_id: &str,
        heal_check: bool,
    ) -> Result<(), OpError> {
        self.run_nested(RemoveDevice {
            device_id: device_id.to_string(),
            heal_check,
        })
        .await
    }

    /// `GET /devices/{id}/resync`.
    pub async fn device_resync(self: &Arc<Self>, device_id: &str) -> Result<String, EngineError> {
        let read = self.store.read();
        let Some(dev) = read.device_row(device_id).await? else {
            return Err(EngineError::IdNotFound);
        };
        let Some(node) = read.node_row(&dev.node_id).await? else {
            return Err(EngineError::IdNotFound);
        };
        let admission = self.admit()?;
        let engine = self.clone();
        self.start_task(admission, async move { engine.resync(&dev, &node).await })
            .await
    }

    async fn resync(&self, dev: &DeviceRow, node: &NodeRow) -> Result<(), OpError> {
        let r = self
            .exec
            .device_resync(&node.target(), &dev.device_ref())
            .await?;
        let mut w = self.store.writer().await;
        let res: StoreResult<Result<(), OpError>> = async {
            let mut tx = w.begin().await?;
            if tx.busy_bricks(&dev.id, true).await? > 0 {
                return Ok(Err(OpError::Refused(
                    "The target exists, contains other items, or is in use.".to_string(),
                )));
            }
            let figures = DeviceFigures::from(&r);
            tx.resync_device(&dev.id, &figures).await?;
            tx.commit().await?;
            Ok(Ok(()))
        }
        .await;
        res?
    }
}

#[async_trait]
impl Operation for RemoveDevice {
    fn payload(&self) -> OpPayload {
        OpPayload::RemoveDevice {
            device_id: self.device_id.clone(),
            healcheck: self.heal_check,
        }
    }

    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let bricks = engine
            .store
            .read()
            .bricks_of_device(&self.device_id)
            .await
            .map_err(ExecFailure::undone)?;
        for b in bricks.iter().filter(|b| !b.path.is_empty()) {
            engine.evict_brick(b, self.heal_check).await.map_err(|e| {
                ExecFailure::Undone(format!(
                    "Unable to delete device [{}] as no device was found to replace it: {e}",
                    self.device_id
                ))
            })?;
        }
        Ok(())
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<String> {
        tx.set_device_state(&self.device_id, EntryState::Failed)
            .await?;
        Ok(String::new())
    }

    async fn clean(&mut self, _engine: &Engine, _op: &OpId) -> Result<Cleaned, OpError> {
        Ok(Cleaned::Undone)
    }
}

impl RemoveDevice {
    pub(super) fn load(device_id: &str, heal_check: bool) -> Self {
        RemoveDevice {
            device_id: device_id.to_string(),
            heal_check,
        }
    }
}
