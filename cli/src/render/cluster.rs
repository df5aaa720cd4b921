//! `cluster create|list|info` text.

use heqet_api::ClusterInfoResponse;

pub fn created(c: &ClusterInfoResponse) -> String {
    format!("Cluster id: {}\n", c.id)
}

/// `[file]` then `[block]`, or `[]` when the cluster allows neither.
fn usage(c: &ClusterInfoResponse) -> String {
    let mut s = String::new();
    if c.file {
        s.push_str("[file]");
    }
    if c.block {
        s.push_str("[block]");
    }
    if s.is_empty() {
        s.push_str("[]");
    }
    s
}

pub fn list(clusters: &[ClusterInfoResponse]) -> String {
    let mut s = String::from("Clusters:\n");
    for c in clusters {
        s.push_str(&format!("Id:{} {}\n", c.id, usage(c)));
    }
    s
}

pub fn info(c: &ClusterInfoResponse) -> String {
    format!(
        "Cluster id: {}\nNodes:\n{}\nVolumes:\n{}\nBlock: {}\n\nFile: {}\n",
        c.id,
        c.nodes.join("\n"),
        c.volumes.join("\n"),
        c.block,
        c.file
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(nodes: &[&str], volumes: &[&str], block: bool, file: bool) -> ClusterInfoResponse {
        ClusterInfoResponse {
            id: "c1".into(),
            nodes: nodes.iter().map(|s| s.to_string()).collect(),
            volumes: volumes.iter().map(|s| s.to_string()).collect(),
            block,
            file,
            blockvolumes: vec![],
        }
    }

    #[test]
    fn info_layout() {
        assert_eq!(
            info(&cluster(&["n1", "n2"], &["v1"], true, true)),
            "Cluster id: c1\nNodes:\nn1\nn2\nVolumes:\nv1\nBlock: true\n\nFile: true\n"
        );
        assert_eq!(
            info(&cluster(&[], &[], false, true)),
            "Cluster id: c1\nNodes:\n\nVolumes:\n\nBlock: false\n\nFile: true\n"
        );
    }

    #[test]
    fn list_usage_tags() {
        let out = list(&[
            cluster(&[], &[], true, true),
            cluster(&[], &[], false, true),
            cluster(&[], &[], true, false),
            cluster(&[], &[], false, false),
        ]);
        assert_eq!(
            out,
            "Clusters:\nId:c1 [file][block]\nId:c1 [file]\nId:c1 [block]\nId:c1 []\n"
        );
    }
}
