//! Each brick's position in gluster's brick order. heqet keeps it (replica sets are
//! consecutive positions: an eviction avoids the rest of the set, a clone pairs its bricks
//! with the origin's by position); heketi's database does not, heketi asked gluster each
//! time. So the order comes from `gluster volume info --xml` when the user gives it, and is
//! inferred otherwise: arbiter bricks last in each set, and sets on distinct nodes where the
//! bricks allow.

use std::collections::{HashMap, HashSet};

use heqet_api::layout::Layout;
use heqet_executor::BrickAddr;

use super::DumpError;

/// A brick as ordering sees it.
#[derive(Debug, Clone)]
pub struct Brick {
    pub id: String,
    pub node: String,
    /// Every manage and storage name of its node (gluster names bricks by one of them).
    pub hosts: Vec<String>,
    pub path: String,
    pub arbiter: bool,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Part of the volume (or of a volume being created or deleted).
    Member,
    /// Added by the pending expansion of this id.
    Expansion(String),
    /// The replacement a pending eviction made for the brick of this id.
    Replacement(String),
}

/// Positions by brick id, and whether they were inferred.
#[derive(Debug, PartialEq)]
pub struct Order {
    pub positions: HashMap<String, i64>,
    pub inferred: bool,
}

/// The positions of one volume's bricks: from gluster's list when given, else inferred.
pub fn order(
    volume: &str,
    layout: &Layout,
    bricks: &[Brick],
    gluster: Option<&[BrickAddr]>,
) -> Result<Order, DumpError> {
    check_counts(volume, layout, bricks)?;
    let mut positions = match gluster {
        Some(g) => from_gluster(volume, layout, bricks, g)?,
        None => inferred(layout, bricks),
    };
    // A replacement not (yet) in gluster takes the place of the brick it replaces.
    for b in bricks {
        if let Role::Replacement(old) = &b.role {
            if !positions.contains_key(&b.id) {
                if let Some(p) = positions.get(old).copied() {
                    positions.insert(b.id.clone(), p);
                }
            }
        }
    }
    let inferred = gluster.is_none() && bricks.len() > 1;
    Ok(Order {
        positions,
        inferred,
    })
}

/// Whole sets, and in arbiter volumes one arbiter brick per set.
fn check_counts(volume: &str, layout: &Layout, bricks: &[Brick]) -> Result<(), DumpError> {
    let set = layout.set_size();
    let mut groups: Vec<(String, Vec<&Brick>)> = vec![("its bricks".into(), Vec::new())];
    for b in bricks {
        match &b.role {
            Role::Member => groups[0].1.push(b),
            Role::Expansion(op) => {
                let what = format!("the bricks of pending expansion {op}");
                match groups.iter_mut().find(|(w, _)| *w == what) {
                    Some((_, g)) => g.push(b),
                    None => groups.push((what, vec![b])),
                }
            }
            Role::Replacement(_) => {}
        }
    }
    for (what, g) in groups {
        if g.len() % set != 0 {
            return Err(DumpError::invalid(
                format!("volume {volume}"),
                format!(
                    "{what} are {} bricks, not a whole number of sets of {set}",
                    g.len()
                ),
            ));
        }
        let arbiters = g.iter().filter(|b| b.arbiter).count();
        let want = if matches!(layout, Layout::Arbiter) {
            g.len() / 3
        } else {
            0
        };
        if arbiters != want {
            return Err(DumpError::invalid(
                format!("volume {volume}"),
                format!("{what} include {arbiters} arbiter bricks (SubType 2), {want} expected"),
            ));
        }
    }
    Ok(())
}

/// Members first, then each expansion's bricks; within a group, sets of `set` bricks.
fn inferred(layout: &Layout, bricks: &[Brick]) -> HashMap<String, i64> {
    let mut groups: Vec<Vec<&Brick>> = vec![Vec::new()];
    let mut expansions: Vec<&str> = Vec::new();
    for b in bricks {
        match &b.role {
            Role::Member => groups[0].push(b),
            Role::Expansion(op) => match expansions.iter().position(|o| o == op) {
                Some(i) => groups[i + 1].push(b),
                None => {
                    expansions.push(op);
                    groups.push(vec![b]);
                }
            },
            Role::Replacement(_) => {}
        }
    }
    let mut positions = HashMap::new();
    let mut next = 0i64;
    for mut g in groups {
        g.sort_by(|a, b| a.id.cmp(&b.id));
        for b in sets(layout, g) {
            positions.insert(b.id.clone(), next);
            next += 1;
        }
    }
    positions
}

/// Bricks in set order: each set takes, in id order, bricks on nodes it has none on yet,
/// and then whatever is left; in arbiter volumes the arbiter brick closes each set.
fn sets<'a>(layout: &Layout, bricks: Vec<&'a Brick>) -> Vec<&'a Brick> {
    let set = layout.set_size();
    let (mut data, mut arbiters): (Vec<&Brick>, Vec<&Brick>) =
        bricks.into_iter().partition(|b| !b.arbiter);
    let per_set_data = if matches!(layout, Layout::Arbiter) {
        2
    } else {
        set
    };
    let mut out = Vec::new();
    while !data.is_empty() || !arbiters.is_empty() {
        let mut members: Vec<&Brick> = Vec::new();
        let mut nodes: HashSet<&str> = HashSet::new();
        let mut i = 0;
        while members.len() < per_set_data && i < data.len() {
            if nodes.insert(&data[i].node) {
                members.push(data.remove(i));
            } else {
                i += 1;
            }
        }
        while members.len() < per_set_data && !data.is_empty() {
            members.push(data.remove(0));
        }
        if matches!(layout, Layout::Arbiter) && !arbiters.is_empty() {
            let pick = arbiters
                .iter()
                .position(|a| !nodes.contains(a.node.as_str()))
                .unwrap_or(0);
            members.push(arbiters.remove(pick));
        }
        if members.is_empty() {
            // Counts were checked; this only guards against looping.
            out.append(&mut arbiters);
            break;
        }
        out.append(&mut members);
    }
    out
}

/// Positions from gluster's list. Every brick of the volume must be there, except bricks a
/// pending operation is still adding and the brick a finished-but-unrecorded replacement
/// took the place of; gluster must not have bricks the dump does not know.
fn from_gluster(
    volume: &str,
    layout: &Layout,
    bricks: &[Brick],
    g: &[BrickAddr],
) -> Result<HashMap<String, i64>, DumpError> {
    let mut positions = HashMap::new();
    let mut matched = vec![false; g.len()];
    for b in bricks {
        let found = g
            .iter()
            .position(|a| a.path == b.path && b.hosts.contains(&a.host));
        if let Some(i) = found {
            matched[i] = true;
            positions.insert(b.id.clone(), i as i64);
        }
    }
    for (i, a) in g.iter().enumerate() {
        if !matched[i] {
            return Err(DumpError::Gluster(format!(
                "volume {volume}: gluster has brick {a}, which heketi's database does not know"
            )));
        }
    }
    for b in bricks {
        if positions.contains_key(&b.id) {
            continue;
        }
        let replaced = bricks
            .iter()
            .any(|r| r.role == Role::Replacement(b.id.clone()) && positions.contains_key(&r.id));
        match &b.role {
            Role::Member if replaced => {
                let p = bricks
                    .iter()
                    .find(|r| r.role == Role::Replacement(b.id.clone()))
                    .and_then(|r| positions.get(&r.id))
                    .copied();
                if let Some(p) = p {
                    positions.insert(b.id.clone(), p);
                }
            }
            Role::Member => {
                return Err(DumpError::Gluster(format!(
                    "volume {volume}: brick {} ({}:{}) is not in gluster's brick list",
                    b.id,
                    b.hosts.first().map(String::as_str).unwrap_or(""),
                    b.path
                )))
            }
            Role::Expansion(_) | Role::Replacement(_) => {}
        }
    }
    // An expansion's bricks gluster does not have yet come after everything it has.
    let next = positions.values().copied().max().map_or(0, |m| m + 1);
    let mut pending: Vec<&Brick> = bricks
        .iter()
        .filter(|b| matches!(b.role, Role::Expansion(_)) && !positions.contains_key(&b.id))
        .collect();
    pending.sort_by(|a, b| a.id.cmp(&b.id));
    for (p, b) in (next..).zip(sets(layout, pending)) {
        positions.insert(b.id.clone(), p);
    }
    let set = layout.set_size() as i64;
    for b in bricks {
        if let Some(p) = positions.get(&b.id) {
            if layout.is_arbiter_position((p % set) as usize) != b.arbiter {
                return Err(DumpError::Gluster(format!(
                    "volume {volume}: gluster has brick {} at position {p}, which does not fit \
                     its SubType ({})",
                    b.id,
                    if b.arbiter { "arbiter" } else { "data" }
                )));
            }
        }
    }
    Ok(positions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brick(id: &str, node: &str, arbiter: bool, role: Role) -> Brick {
        Brick {
            id: id.into(),
            node: node.into(),
            hosts: vec![format!("h{node}")],
            path: format!("/b/{id}"),
            arbiter,
            role,
        }
    }

    fn addr(node: &str, id: &str) -> BrickAddr {
        BrickAddr {
            host: format!("h{node}"),
            path: format!("/b/{id}"),
        }
    }

    fn by_position(o: &Order) -> Vec<String> {
        let mut v: Vec<(&i64, &String)> = o.positions.iter().map(|(k, v)| (v, k)).collect();
        v.sort();
        v.into_iter().map(|(_, k)| k.clone()).collect()
    }

    #[test]
    fn inferred_sets_spread_over_nodes_and_end_with_the_arbiter() {
        // Ids sort a1 a2 b1 b2 c1 c2; nodes make a1,b1,c1 one set only if spread.
        let bricks = vec![
            brick("a1", "1", false, Role::Member),
            brick("a2", "1", false, Role::Member),
            brick("b1", "2", false, Role::Member),
            brick("b2", "2", false, Role::Member),
            brick("c1", "3", false, Role::Member),
            brick("c2", "3", false, Role::Member),
        ];
        let o = order("v", &Layout::Replicate { replica: 3 }, &bricks, None).unwrap();
        assert!(o.inferred);
        assert_eq!(by_position(&o), ["a1", "b1", "c1", "a2", "b2", "c2"]);
        let arb = vec![
            brick("x", "3", true, Role::Member),
            brick("y", "1", false, Role::Member),
            brick("z", "2", false, Role::Member),
        ];
        let o = order("v", &Layout::Arbiter, &arb, None).unwrap();
        assert_eq!(by_position(&o), ["y", "z", "x"]);
    }

    #[test]
    fn expansion_bricks_follow_and_a_replacement_takes_its_bricks_place() {
        let bricks = vec![
            brick("e1", "1", false, Role::Expansion("op".into())),
            brick("m1", "2", false, Role::Member),
            brick("r1", "3", false, Role::Replacement("m1".into())),
        ];
        let o = order("v", &Layout::None, &bricks, None).unwrap();
        assert_eq!(o.positions["m1"], 0);
        assert_eq!(o.positions["e1"], 1);
        assert_eq!(o.positions["r1"], 0);
    }

    #[test]
    fn gluster_order_wins_and_must_agree() {
        let bricks = vec![
            brick("a", "1", false, Role::Member),
            brick("b", "2", false, Role::Member),
            brick("c", "3", true, Role::Member),
        ];
        let g = vec![addr("2", "b"), addr("1", "a"), addr("3", "c")];
        let o = order("v", &Layout::Arbiter, &bricks, Some(&g)).unwrap();
        assert!(!o.inferred);
        assert_eq!(by_position(&o), ["b", "a", "c"]);
        // The arbiter where a data brick belongs.
        let g = vec![addr("3", "c"), addr("1", "a"), addr("2", "b")];
        let e = order("v", &Layout::Arbiter, &bricks, Some(&g)).unwrap_err();
        assert!(e.to_string().contains("SubType"), "{e}");
        // A brick gluster does not have, and one heketi does not know.
        let g = vec![addr("1", "a"), addr("2", "b")];
        assert!(order("v", &Layout::Arbiter, &bricks, Some(&g)).is_err());
        let g = vec![
            addr("1", "a"),
            addr("2", "b"),
            addr("3", "c"),
            addr("4", "d"),
        ];
        let e = order("v", &Layout::Arbiter, &bricks, Some(&g)).unwrap_err();
        assert!(e.to_string().contains("does not know"), "{e}");
    }

    #[test]
    fn a_replacement_gluster_already_uses_gives_the_old_brick_its_place() {
        let bricks = vec![
            brick("m", "1", false, Role::Member),
            brick("r", "2", false, Role::Replacement("m".into())),
        ];
        let g = vec![addr("2", "r")];
        let o = order("v", &Layout::None, &bricks, Some(&g)).unwrap();
        assert_eq!((o.positions["m"], o.positions["r"]), (0, 0));
    }

    #[test]
    fn partial_sets_are_refused() {
        let bricks = vec![
            brick("a", "1", false, Role::Member),
            brick("b", "2", false, Role::Member),
        ];
        let e = order("v", &Layout::Replicate { replica: 3 }, &bricks, None).unwrap_err();
        assert!(
            e.to_string().contains("not a whole number of sets of 3"),
            "{e}"
        );
        let e = order(
            "v",
            &Layout::Arbiter,
            &[
                bricks[0].clone(),
                bricks[1].clone(),
                brick("c", "3", false, Role::Member),
            ],
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("arbiter"), "{e}");
    }
}
