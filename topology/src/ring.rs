//! The device ring of heketi's placer (docs/node-commands.md §12.3), built
//! deterministically: devices are grouped zone → node → device, zones ascending, nodes and
//! devices by id, and the ring is filled round-robin so that consecutive positions
//! alternate zones and nodes.

use crate::placement::DeviceCandidate;

/// One node's devices: a range of [`DeviceIndex::order`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct NodeGroup {
    start: usize,
    end: usize,
    /// The zone of the node (of its first device, should the input disagree).
    pub zone: i64,
}

/// Eligible devices grouped by node and zone; built once per placement, O(d log d).
#[derive(Debug)]
pub(crate) struct DeviceIndex {
    /// Eligible device indices sorted by (node id, device id); duplicate ids dropped.
    order: Vec<usize>,
    /// Nodes in node id order; each owns a range of `order`.
    pub nodes: Vec<NodeGroup>,
    /// Node index of each device (by position in the input); `u32::MAX` if not eligible.
    node_of: Vec<u32>,
    /// Node indices per zone, zones ascending, nodes by id.
    zones: Vec<Vec<usize>>,
}

const NOT_ELIGIBLE: u32 = u32::MAX;

impl DeviceIndex {
    /// Indexes the devices for which `eligible` holds.
    pub fn new(devices: &[DeviceCandidate], eligible: impl Fn(&DeviceCandidate) -> bool) -> Self {
        let key = |i: &usize| (devices[*i].node_id.as_str(), devices[*i].id.as_str());
        let mut order: Vec<usize> = (0..devices.len())
            .filter(|&i| eligible(&devices[i]))
            .collect();
        // Callers usually pass devices already sorted; skip the sort then.
        if !order.is_sorted_by_key(key) {
            order.sort_by_key(key);
        }
        // A device listed twice must not be counted as two devices.
        order.dedup_by_key(|i| key(i));

        let mut node_of = vec![NOT_ELIGIBLE; devices.len()];
        let mut nodes: Vec<NodeGroup> = Vec::new();
        for (pos, &d) in order.iter().enumerate() {
            let same_node = pos > 0 && devices[order[pos - 1]].node_id == devices[d].node_id;
            if !same_node {
                nodes.push(NodeGroup {
                    start: pos,
                    end: pos,
                    zone: devices[d].zone,
                });
            }
            if let Some(last) = nodes.last_mut() {
                last.end = pos + 1;
            }
            // More than u32::MAX - 1 nodes cannot happen in memory; saturate anyway.
            node_of[d] = u32::try_from(nodes.len() - 1).unwrap_or(NOT_ELIGIBLE - 1);
        }

        let mut by_zone: Vec<usize> = (0..nodes.len()).collect();
        by_zone.sort_by_key(|&n| nodes[n].zone); // stable: nodes stay in id order
        let mut zones: Vec<Vec<usize>> = Vec::new();
        for n in by_zone {
            match zones.last_mut() {
                Some(z) if nodes[z[0]].zone == nodes[n].zone => z.push(n),
                _ => zones.push(vec![n]),
            }
        }
        DeviceIndex {
            order,
            nodes,
            node_of,
            zones,
        }
    }

    /// The node index of an eligible device.
    pub fn node_of(&self, device: usize) -> Option<usize> {
        match self.node_of.get(device) {
            Some(&n) if n != NOT_ELIGIBLE => Some(n as usize),
            _ => None,
        }
    }

    /// Eligible device indices, in (node id, device id) order.
    pub fn devices(&self) -> &[usize] {
        &self.order
    }

    /// Number of distinct zones with an eligible device.
    #[cfg(test)]
    pub fn zone_count(&self) -> usize {
        self.zones.len()
    }

    /// The ring of the indexed devices for which `keep` holds: step `i` takes zone
    /// `i mod zones left`, within it node `i mod nodes left`, and pops that node's last
    /// device. O(devices + nodes × zones).
    pub fn ring(&self, keep: impl Fn(usize) -> bool) -> Vec<usize> {
        // Per node: one past the last kept device still in the ring.
        let mut ends: Vec<usize> = self.nodes.iter().map(|n| n.end).collect();
        let trim = |ends: &mut [usize], n: usize| {
            while ends[n] > self.nodes[n].start && !keep(self.order[ends[n] - 1]) {
                ends[n] -= 1;
            }
        };
        let mut zones: Vec<Vec<usize>> = Vec::with_capacity(self.zones.len());
        for zone in &self.zones {
            let mut left = Vec::with_capacity(zone.len());
            for &n in zone {
                trim(&mut ends, n);
                if ends[n] > self.nodes[n].start {
                    left.push(n);
                }
            }
            if !left.is_empty() {
                zones.push(left);
            }
        }

        let mut ring = Vec::new();
        let mut step = 0usize;
        while !zones.is_empty() {
            let z = step % zones.len();
            let k = step % zones[z].len();
            let n = zones[z][k];
            ends[n] -= 1;
            ring.push(self.order[ends[n]]);
            trim(&mut ends, n);
            if ends[n] == self.nodes[n].start {
                zones[z].remove(k);
                if zones[z].is_empty() {
                    zones.remove(z);
                }
            }
            step += 1;
        }
        ring
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn dev(id: &str, node: &str, zone: i64) -> DeviceCandidate {
        DeviceCandidate {
            id: id.into(),
            node_id: node.into(),
            zone,
            free_kib: 100,
            extent_kib: 4,
            online: true,
            tags: BTreeMap::new(),
        }
    }

    fn ids(devices: &[DeviceCandidate], ring: &[usize]) -> Vec<String> {
        ring.iter().map(|&i| devices[i].id.clone()).collect()
    }

    #[test]
    fn alternates_zones_and_nodes() {
        // Given in scrambled order: the ring must not depend on input order.
        let devices = vec![
            dev("b2", "nb", 2),
            dev("a1", "na", 1),
            dev("c1", "nc", 1),
            dev("a2", "na", 1),
            dev("b1", "nb", 2),
            dev("c2", "nc", 1),
        ];
        let index = DeviceIndex::new(&devices, |_| true);
        assert_eq!(index.zone_count(), 2);
        let ring = index.ring(|_| true);
        // step 0: zone 1 node na -> a2; step 1: zone 2 node nb -> b2; step 2: zone 1 (idx 0)
        // node 2 mod 2 = na -> a1 (na now empty); step 3: zone 2 nb -> b1 (zone 2 gone);
        // step 4: zone 1 node 4 mod 1 = nc -> c2; step 5: c1.
        assert_eq!(ids(&devices, &ring), ["a2", "b2", "a1", "b1", "c2", "c1"]);

        let mut reversed = devices.clone();
        reversed.reverse();
        let index = DeviceIndex::new(&reversed, |_| true);
        assert_eq!(
            ids(&reversed, &index.ring(|_| true)),
            ["a2", "b2", "a1", "b1", "c2", "c1"]
        );
    }

    #[test]
    fn filters_and_duplicates() {
        let devices = vec![dev("a1", "na", 1), dev("a1", "na", 1), dev("b1", "nb", 1)];
        let index = DeviceIndex::new(&devices, |_| true);
        assert_eq!(index.devices().len(), 2);
        let ring = index.ring(|d| devices[d].id != "b1");
        assert_eq!(ids(&devices, &ring), ["a1"]);
        assert_eq!(index.node_of(0), Some(0));
        assert_eq!(index.node_of(1), None);
        assert!(index.ring(|_| false).is_empty());
    }
}
