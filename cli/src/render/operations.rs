//! `server operations info|list` text.

use heqet_api::{OperationsInfo, PendingOperationDetails, PendingOperationInfo};

fn status(s: &str) -> &str {
    if s.is_empty() {
        "New"
    } else {
        s
    }
}

pub fn counts(o: &OperationsInfo) -> String {
    format!(
        "Operation Counts:\n  Total: {}\n  In-Flight: {}\n  New: {}\n  Failed: {}\n  Stale: {}\n",
        o.total, o.in_flight, o.new, o.failed, o.stale
    )
}

pub fn list(ops: &[PendingOperationInfo]) -> String {
    let mut s = String::new();
    for o in ops {
        s.push_str(&format!(
            "Id:{}  Type:{}  Status:{} {}\n",
            o.id,
            o.type_name,
            status(&o.status),
            o.sub_status
        ));
    }
    s
}

pub fn details(o: &PendingOperationDetails) -> String {
    let mut s = format!(
        "\nId: {}\nType: {}\nStatus: {} {}\nChanges:\n",
        o.id,
        o.type_name,
        status(&o.status),
        o.sub_status
    );
    for c in &o.changes {
        s.push_str(&format!("    {}: {}\n", c.description, c.id));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use heqet_api::PendingChangeInfo;

    #[test]
    fn layouts() {
        assert_eq!(
            counts(&OperationsInfo {
                total: 2,
                in_flight: 1,
                stale: 1,
                failed: 0,
                new: 1
            }),
            "Operation Counts:\n  Total: 2\n  In-Flight: 1\n  New: 1\n  Failed: 0\n  Stale: 1\n"
        );
        let ops = vec![
            PendingOperationInfo {
                id: "a".into(),
                type_name: "create-volume".into(),
                status: "".into(),
                sub_status: "in-flight".into(),
            },
            PendingOperationInfo {
                id: "b".into(),
                type_name: "delete-volume".into(),
                status: "stale".into(),
                sub_status: "".into(),
            },
        ];
        assert_eq!(
            list(&ops),
            "Id:a  Type:create-volume  Status:New in-flight\nId:b  Type:delete-volume  Status:stale \n"
        );
        let d = PendingOperationDetails {
            id: "a".into(),
            type_name: "create-volume".into(),
            status: "".into(),
            sub_status: "".into(),
            changes: vec![PendingChangeInfo {
                id: "b1".into(),
                description: "Add brick".into(),
            }],
        };
        assert_eq!(
            details(&d),
            "\nId: a\nType: create-volume\nStatus: New \nChanges:\n    Add brick: b1\n"
        );
    }
}
