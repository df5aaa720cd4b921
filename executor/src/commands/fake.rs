//! A recording transport for tests: answers by rules, remembers every command.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::transport::{Cmd, CmdOutput, Transport};
use crate::ExecError;

struct Rule {
    /// Substring of the displayed command line.
    pattern: String,
    answer: Result<CmdOutput, ExecError>,
    /// How many more times the rule applies; `None` = always.
    times: Option<usize>,
}

#[derive(Default)]
pub(crate) struct FakeTransport {
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<(String, Vec<String>)>>,
}

pub(crate) fn ok(stdout: &str) -> Result<CmdOutput, ExecError> {
    Ok(CmdOutput {
        status: 0,
        stdout: stdout.to_string(),
        stderr: String::new(),
    })
}

pub(crate) fn fail(status: i32, stderr: &str) -> Result<CmdOutput, ExecError> {
    Ok(CmdOutput {
        status,
        stdout: String::new(),
        stderr: stderr.to_string(),
    })
}

impl FakeTransport {
    /// Answer commands containing `pattern` with `answer` (first matching rule wins).
    pub(crate) fn on(&self, pattern: &str, answer: Result<CmdOutput, ExecError>) -> &Self {
        self.push(pattern, answer, None)
    }

    fn push(
        &self,
        pattern: &str,
        answer: Result<CmdOutput, ExecError>,
        times: Option<usize>,
    ) -> &Self {
        self.rules.lock().unwrap().push(Rule {
            pattern: pattern.to_string(),
            answer,
            times,
        });
        self
    }

    /// Every command run so far, argv joined by spaces (readable; exact argv: [`Self::argvs`]).
    pub(crate) fn lines(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, argv)| argv.join(" "))
            .collect()
    }

    pub(crate) fn argvs(&self) -> Vec<Vec<String>> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, a)| a.clone())
            .collect()
    }

    pub(crate) fn hosts(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(h, _)| h.clone())
            .collect()
    }
}

#[async_trait]
impl Transport for FakeTransport {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn run(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError> {
        let line = cmd.argv.join(" ");
        self.log
            .lock()
            .unwrap()
            .push((host.to_string(), cmd.argv.clone()));
        let mut rules = self.rules.lock().unwrap();
        for rule in rules.iter_mut() {
            if rule.times == Some(0) || !line.contains(&rule.pattern) {
                continue;
            }
            if let Some(n) = rule.times.as_mut() {
                *n -= 1;
            }
            return rule.answer.clone();
        }
        ok("")
    }
}
