//! The exec call's pure parts: the argv sent, the client-side deadline, and how the status
//! channel's `Status` becomes an exit status.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;

/// Exit status of coreutils `timeout` when the limit hit.
pub const TIMEOUT_EXIT: i32 = 124;

/// Extra time the client waits beyond the node-side `timeout`, so that the node's own limit
/// (which kills the command and reports 124) fires first and the client's only catches a
/// dead connection.
pub const CLIENT_GRACE: Duration = Duration::from_secs(15);

/// Whole minutes for `timeout <N>m`, rounded up; at least 1 (`timeout 0` means no limit).
pub fn timeout_minutes(limit: Duration) -> u64 {
    let secs = limit.as_secs() + u64::from(limit.subsec_nanos() > 0);
    secs.div_ceil(60).max(1)
}

/// The argv the pod runs: heketi's `timeout <N>m` prefix unless disabled. The argv goes to
/// the API as repeated `command=` parameters and is exec'd as is: no shell on the way.
pub fn exec_argv(argv: &[String], limit: Duration, timeout_prefix: bool) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len() + 2);
    if timeout_prefix {
        out.push("timeout".to_string());
        out.push(format!("{}m", timeout_minutes(limit)));
    }
    out.extend(argv.iter().cloned());
    out
}

/// How long the client waits for one command: the node-side limit (whole minutes) plus
/// [`CLIENT_GRACE`] with the prefix, the command's own timeout without.
pub fn client_deadline(limit: Duration, timeout_prefix: bool) -> Duration {
    if timeout_prefix {
        Duration::from_secs(timeout_minutes(limit) * 60) + CLIENT_GRACE
    } else {
        limit
    }
}

/// What the status channel said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecOutcome {
    /// The command ran and exited with this status.
    Exited(i32),
    /// The command could not be run (no such executable, container gone, …), or the status
    /// cannot be read: the message says why.
    Failed(String),
}

/// Read the `Status` of the exec status channel (3). `Success` = 0; a failure carries the
/// exit code as `details.causes[{reason: "ExitCode", message: "<n>"}]` (reason
/// `NonZeroExitCode`); any other failure means the command did not run to an exit status.
/// No status at all = the stream ended before the command finished.
pub fn outcome(status: Option<&Status>) -> ExecOutcome {
    let Some(st) = status else {
        return ExecOutcome::Failed(
            "the exec stream ended without an exit status (connection lost?)".into(),
        );
    };
    if st.status.as_deref() == Some("Success") {
        return ExecOutcome::Exited(0);
    }
    let code = st
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .into_iter()
        .flatten()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))
        .and_then(|c| c.message.as_deref())
        .and_then(|m| m.trim().parse::<i32>().ok());
    match code {
        Some(n) => ExecOutcome::Exited(n),
        None => {
            let msg = st.message.clone().unwrap_or_default();
            let reason = st.reason.clone().unwrap_or_default();
            ExecOutcome::Failed(match (msg.is_empty(), reason.is_empty()) {
                (false, _) => msg,
                (true, false) => reason,
                (true, true) => format!(
                    "exec ended with status {:?} and no exit code",
                    st.status.as_deref().unwrap_or("")
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: serde_json::Value) -> Status {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn minutes_round_up() {
        assert_eq!(timeout_minutes(Duration::from_secs(0)), 1);
        assert_eq!(timeout_minutes(Duration::from_secs(1)), 1);
        assert_eq!(timeout_minutes(Duration::from_secs(60)), 1);
        assert_eq!(timeout_minutes(Duration::from_millis(60_001)), 2);
        assert_eq!(timeout_minutes(Duration::from_secs(90)), 2);
        assert_eq!(timeout_minutes(Duration::from_secs(11 * 60)), 11);
    }

    #[test]
    fn argv_with_and_without_prefix() {
        let argv = vec!["gluster".to_string(), "a b;c".to_string()];
        assert_eq!(
            exec_argv(&argv, Duration::from_secs(600), true),
            ["timeout", "10m", "gluster", "a b;c"]
        );
        assert_eq!(exec_argv(&argv, Duration::from_secs(600), false), argv);
        assert_eq!(
            client_deadline(Duration::from_secs(90), true),
            Duration::from_secs(135)
        );
        assert_eq!(
            client_deadline(Duration::from_secs(90), false),
            Duration::from_secs(90)
        );
    }

    #[test]
    fn status_channel() {
        assert_eq!(
            outcome(Some(&s(
                serde_json::json!({"metadata": {}, "status": "Success"})
            ))),
            ExecOutcome::Exited(0)
        );
        let failed = s(serde_json::json!({
            "metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: exit status 3",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}
        }));
        assert_eq!(outcome(Some(&failed)), ExecOutcome::Exited(3));
        let internal = s(serde_json::json!({
            "metadata": {}, "status": "Failure", "reason": "InternalError", "code": 500,
            "message": "OCI runtime exec failed: exec: \"gluster\": executable file not found in $PATH"
        }));
        assert!(
            matches!(outcome(Some(&internal)), ExecOutcome::Failed(m) if m.contains("executable file not found"))
        );
        assert!(
            matches!(outcome(None), ExecOutcome::Failed(m) if m.contains("without an exit status"))
        );
        let odd = s(serde_json::json!({"status": "Failure"}));
        assert!(
            matches!(outcome(Some(&odd)), ExecOutcome::Failed(m) if m.contains("no exit code"))
        );
        let garbage = s(
            serde_json::json!({"status": "Failure", "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": "x"}]}}),
        );
        assert_eq!(
            outcome(Some(&garbage)),
            ExecOutcome::Failed("NonZeroExitCode".into())
        );
    }
}
