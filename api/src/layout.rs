//! The shape of a volume's bricks, shared by placement (`heqet-topology`) and the node
//! commands (`heqet-executor`).

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Layout {
    /// Plain distribute: sets of one brick.
    None,
    /// Replica sets of `replica` bricks (2 or 3).
    Replicate { replica: u32 },
    /// Replica 3 where the third brick of each set is a small arbiter brick.
    Arbiter,
    /// Erasure coded sets of `data + redundancy` bricks.
    Disperse { data: u32, redundancy: u32 },
}

impl Layout {
    /// Bricks in one set.
    pub fn set_size(&self) -> usize {
        match *self {
            Layout::None => 1,
            Layout::Replicate { replica } => replica as usize,
            Layout::Arbiter => 3,
            Layout::Disperse { data, redundancy } => (data + redundancy) as usize,
        }
    }

    /// Bricks of a set that carry data (the divisor of the volume size per set).
    pub fn data_bricks(&self) -> u64 {
        match *self {
            Layout::Disperse { data, .. } => data as u64,
            _ => 1,
        }
    }

    /// Whether position `index` within a set is an arbiter brick.
    pub fn is_arbiter_position(&self, index: usize) -> bool {
        matches!(self, Layout::Arbiter) && index == 2
    }
}
