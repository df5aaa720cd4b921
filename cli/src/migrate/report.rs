//! The plan as text (one line per PV) or JSON (with each new PV's manifest), and the
//! summary. Pure.

use serde_json::{json, Value};

use crate::migrate::plan::{Action, Entry};

/// The ACTION column.
pub fn action(a: &Action, driver: &str) -> String {
    match a {
        Action::Migrate(m) => {
            let claim = m
                .claim
                .as_ref()
                .map(|c| format!("claim {c}"))
                .unwrap_or_else(|| "no claim".to_string());
            let steps = if m.terminating {
                "being deleted already: Retain, wait until gone, create"
            } else {
                "Retain, delete, create"
            };
            format!(
                "migrate to {driver}: {steps} (reclaim policy {}, {claim})",
                m.reclaim_policy
            )
        }
        Action::Skip => format!("skip: already a {driver} PV"),
        Action::LeaveAlone(why) => format!("leave alone: {why}"),
        Action::Blocked(why) => format!("blocked: {why}"),
    }
}

/// The plan table: PV, VOLUME, VOLUME ID, ACTION, padded to the widest entry.
pub fn table(entries: &[Entry], driver: &str) -> String {
    let dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".to_string());
    let rows: Vec<[String; 4]> = entries
        .iter()
        .map(|e| {
            [
                e.pv.clone(),
                dash(&e.volume),
                dash(&e.volume_id),
                action(&e.action, driver),
            ]
        })
        .collect();
    let header = ["PV", "VOLUME", "VOLUME ID", "ACTION"].map(str::to_string);
    let mut widths = [0usize; 3];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        for (i, w) in widths.iter().enumerate() {
            out.push_str(&format!("{:<w$}  ", r[i]));
        }
        out.push_str(&r[3]);
        out.push('\n');
    }
    out
}

/// Counts per action.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub migrate: usize,
    pub skip: usize,
    pub leave_alone: usize,
    pub blocked: usize,
}

pub fn counts(entries: &[Entry]) -> Counts {
    let mut c = Counts::default();
    for e in entries {
        match e.action {
            Action::Migrate(_) => c.migrate += 1,
            Action::Skip => c.skip += 1,
            Action::LeaveAlone(_) => c.leave_alone += 1,
            Action::Blocked(_) => c.blocked += 1,
        }
    }
    c
}

pub fn summary(c: &Counts, driver: &str) -> String {
    format!(
        "{} to migrate, {} already {driver}, {} left alone, {} blocked",
        c.migrate, c.skip, c.leave_alone, c.blocked
    )
}

/// The plan as JSON: the new PVs' manifests in full, for review before `--apply`.
pub fn json(entries: &[Entry], dry_run: bool, driver: &str) -> Value {
    let pvs: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut v = json!({
                "pv": e.pv,
                "volume": e.volume,
                "volume_id": e.volume_id,
            });
            let (kind, reason) = match &e.action {
                Action::Migrate(m) => {
                    v["reclaim_policy"] = json!(m.reclaim_policy);
                    v["claim"] = json!(m.claim.as_ref().map(|c| c.to_string()));
                    v["terminating"] = json!(m.terminating);
                    v["manifest"] = serde_json::to_value(&m.new).unwrap_or(Value::Null);
                    ("migrate", None)
                }
                Action::Skip => ("skip", None),
                Action::LeaveAlone(r) => ("leave-alone", Some(r)),
                Action::Blocked(r) => ("blocked", Some(r)),
            };
            v["action"] = json!(kind);
            if let Some(r) = reason {
                v["reason"] = json!(r);
            }
            v
        })
        .collect();
    json!({"dry_run": dry_run, "driver": driver, "pvs": pvs})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pv: &str, volume: Option<&str>, action: Action) -> Entry {
        Entry {
            pv: pv.into(),
            volume: volume.map(str::to_string),
            volume_id: volume.map(|_| "0123456789abcdef0123456789abcdef".to_string()),
            action,
        }
    }

    #[test]
    fn one_padded_line_per_pv() {
        let entries = vec![
            entry("pv-long-name", Some("vol_a"), Action::Skip),
            entry("pv-x", None, Action::LeaveAlone("no spec.glusterfs".into())),
            entry("pv-y", Some("v"), Action::Blocked("in use".into())),
        ];
        let t = table(&entries, "glusterfs.heqet.io");
        let want = "\
PV            VOLUME  VOLUME ID                         ACTION
pv-long-name  vol_a   0123456789abcdef0123456789abcdef  skip: already a glusterfs.heqet.io PV
pv-x          -       -                                 leave alone: no spec.glusterfs
pv-y          v       0123456789abcdef0123456789abcdef  blocked: in use
";
        assert_eq!(t, want);
        let c = counts(&entries);
        assert_eq!(
            summary(&c, "glusterfs.heqet.io"),
            "0 to migrate, 1 already glusterfs.heqet.io, 1 left alone, 1 blocked"
        );
        let j = json(&entries, true, "glusterfs.heqet.io");
        assert_eq!(j["pvs"][1]["action"], "leave-alone");
        assert_eq!(j["pvs"][1]["reason"], "no spec.glusterfs");
        assert_eq!(j["pvs"][0]["reason"], Value::Null);
    }
}
