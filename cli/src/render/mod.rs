//! heketi-cli's text output, as pure functions of API responses (docs/cli.md). No I/O here:
//! every function returns the exact bytes to print.

pub mod cluster;
pub mod device;
pub mod node;
pub mod operations;
pub mod pv;
pub mod topology;
pub mod volume;

/// KiB to GiB as heketi-cli shows sizes: integer division, rounded down.
pub fn gib(kib: u64) -> u64 {
    kib / 1_048_576
}

/// heketi-cli calls the `failed` state `removed` in all text output.
pub fn state_name(state: &str) -> &str {
    if state == "failed" {
        "removed"
    } else {
        state
    }
}

/// `--json` output: compact, no trailing newline.
pub fn json<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
    serde_json::to_string(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_down() {
        assert_eq!(gib(1_048_575), 0);
        assert_eq!(gib(104_722_432), 99);
    }

    #[test]
    fn failed_is_removed() {
        assert_eq!(state_name("failed"), "removed");
        assert_eq!(state_name("online"), "online");
    }
}
