//! `POST /devices` (inspect, pvcreate, vgcreate on the node) and `DELETE /devices/{id}`
//! (vgremove, pvremove).

use std::sync::Arc;

use async_trait::async_trait;
use heqet_api::DeviceAddRequest;
use heqet_executor::{DeviceReport, DeviceSetup};

use super::error::OpError;
use super::op::{carry_on, Cleaned, ExecFailure, OpId, Operation};
use super::{Engine, EngineError};
use crate::model::*;
use crate::store::{DeviceFigures, StoreResult, Tx};

pub(super) struct DeviceAdd {
    req: DeviceAddRequest,
    node: NodeRow,
    device_id: String,
    report: Option<DeviceReport>,
}

pub(super) struct DeviceDelete {
    dev: DeviceRow,
    node: NodeRow,
    forceforget: bool,
}

impl Engine {
    /// `POST /devices`.
    pub async fn device_add(
        self: &Arc<Self>,
        req: DeviceAddRequest,
    ) -> Result<String, EngineError> {
        let node = self.store.read().node_row(&req.node).await?;
        let Some(node) = node.filter(|n| n.pending_op.is_none()) else {
            return Err(EngineError::Missing("Node id does not exist".into()));
        };
        self.start(DeviceAdd {
            req,
            node,
            device_id: heqet_api::id::new_id(),
            report: None,
        })
        .await
    }

    /// `DELETE /devices/{id}`.
    pub async fn device_delete(
        self: &Arc<Self>,
        device_id: &str,
        forceforget: bool,
    ) -> Result<String, EngineError> {
        let read = self.store.read();
        let dev = read.device_row(device_id).await?;
        let Some(dev) = dev.filter(|d| d.pending_op.is_none()) else {
            return Err(EngineError::IdNotFound);
        };
        if dev.state != EntryState::Failed {
            return Err(EngineError::Invalid(format!(
                "device: {device_id} is not in failed state"
            )));
        }
        if read.brick_count_of_device(device_id).await? > 0 {
            return Err(EngineError::Conflict(format!(
                "Unable to delete device [{device_id}] because it contains bricks"
            )));
        }
        let Some(node) = read.node_row(&dev.node_id).await? else {
            return Err(EngineError::IdNotFound);
        };
        self.start(DeviceDelete {
            dev,
            node,
            forceforget,
        })
        .await
    }
}

impl DeviceAdd {
    /// After a crash: the device row (if it is still there) and its node.
    pub(super) async fn load(
        engine: &Engine,
        device_id: &str,
        destroydata: bool,
    ) -> Result<Option<Self>, OpError> {
        let read = engine.store.read();
        let Some(dev) = read.device_row(device_id).await? else {
            return Ok(None);
        };
        let Some(node) = read.node_row(&dev.node_id).await? else {
            return Ok(None);
        };
        Ok(Some(DeviceAdd {
            req: DeviceAddRequest {
                name: dev.name,
                node: dev.node_id,
                destroydata,
                tags: dev.tags.0,
            },
            node,
            device_id: device_id.to_string(),
            report: None,
        }))
    }
}

#[async_trait]
impl Operation for DeviceAdd {
    fn payload(&self) -> OpPayload {
        OpPayload::AddDevice {
            device_id: self.device_id.clone(),
            destroydata: self.req.destroydata,
        }
    }

    async fn prepare(
        &mut self,
        _engine: &Engine,
        tx: &mut Tx<'_>,
        op: &OpId,
    ) -> Result<(), EngineError> {
        let r = &self.req;
        if let Err(existing) = tx
            .insert_device(&self.device_id, &r.node, &r.name, &r.tags, op.as_str())
            .await?
        {
            return Err(EngineError::Conflict(format!(
                "Device {} is already added to node {} (id {existing})",
                r.name, r.node
            )));
        }
        Ok(())
    }

    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let setup = DeviceSetup {
            id: self.device_id.clone(),
            name: self.req.name.clone(),
            destroydata: self.req.destroydata,
        };
        let report = engine
            .exec
            .device_setup(&self.node.target(), &setup)
            .await
            .map_err(ExecFailure::undone)?;
        self.report = Some(report);
        Ok(())
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<String> {
        if let Some(r) = &self.report {
            let figures = DeviceFigures::from(r);
            tx.complete_device(&self.device_id, &figures).await?;
        }
        Ok(String::new())
    }

    async fn rollback(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<()> {
        tx.delete_device(&self.device_id).await
    }

    async fn clean(&mut self, engine: &Engine, _op: &OpId) -> Result<Cleaned, OpError> {
        // The row never got LVM's figures: the device is known by its id and name only.
        let dref = heqet_executor::DeviceRef {
            id: self.device_id.clone(),
            name: self.req.name.clone(),
            pv_uuid: String::new(),
            paths: Vec::new(),
        };
        // Forced: the device may be anywhere between untouched and a full VG.
        engine
            .exec
            .device_teardown(&self.node.target(), &dref, true)
            .await?;
        Ok(Cleaned::Undone)
    }
}

impl DeviceDelete {
    pub(super) async fn load(
        engine: &Engine,
        device_id: &str,
        forceforget: bool,
    ) -> Result<Self, OpError> {
        let read = engine.store.read();
        let dev = read
            .device_row(device_id)
            .await?
            .ok_or_else(|| OpError::Missing(format!("device {device_id} not found")))?;
        let node = read
            .node_row(&dev.node_id)
            .await?
            .ok_or_else(|| OpError::Missing(format!("node {} not found", dev.node_id)))?;
        Ok(DeviceDelete {
            dev,
            node,
            forceforget,
        })
    }
}

#[async_trait]
impl Operation for DeviceDelete {
    fn payload(&self) -> OpPayload {
        OpPayload::DeleteDevice {
            device_id: self.dev.id.clone(),
            forceforget: self.forceforget,
        }
    }

    async fn exec(&mut self, engine: &Engine, _op: &OpId) -> Result<(), ExecFailure> {
        let dref = self.dev.device_ref();
        engine
            .exec
            .device_teardown(&self.node.target(), &dref, self.forceforget)
            .await
            .map_err(|e| {
                ExecFailure::Undone(format!(
                    "Failed to delete device {} with id {} on host {}: {e}",
                    dref.pv_path(),
                    self.dev.id,
                    self.node.manage_host(),
                ))
            })
    }

    async fn finish(&mut self, tx: &mut Tx<'_>, _op: &OpId) -> StoreResult<String> {
        tx.delete_device(&self.dev.id).await?;
        Ok(String::new())
    }

    async fn clean(&mut self, engine: &Engine, op: &OpId) -> Result<Cleaned, OpError> {
        carry_on(self, engine, op).await
    }
}
