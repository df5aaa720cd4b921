//! A recording transport for tests: answers by rules, remembers every command, and measures
//! how many commands were in flight per node. Built like the real transports: the recorder is
//! a private [`Wire`] inside the one per-host limiter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::transport::{Cmd, CmdOutput, Limited, Transport, Wire};
use crate::ExecError;

struct Rule {
    /// Substring of the displayed command line.
    pattern: String,
    answer: Result<CmdOutput, ExecError>,
    /// How many more times the rule applies; `None` = always.
    times: Option<usize>,
}

pub(crate) struct FakeTransport {
    limited: Limited<Recorder>,
}

impl Default for FakeTransport {
    /// The default limit of the real transports (8), no delay.
    fn default() -> Self {
        FakeTransport::new(8, Duration::ZERO)
    }
}

#[derive(Default)]
struct Recorder {
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<(String, Vec<String>)>>,
    /// Every command takes this long, so that concurrent ones overlap.
    delay: Duration,
    flight: Mutex<Flight>,
}

/// Commands in flight now and at most, per node and over all nodes.
#[derive(Default)]
struct Flight {
    now: HashMap<String, usize>,
    peak: HashMap<String, usize>,
    all_now: usize,
    all_peak: usize,
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
    /// At most `per_host` commands per node at once, each taking `delay`.
    pub(crate) fn new(per_host: usize, delay: Duration) -> Self {
        FakeTransport {
            limited: Limited::new(
                Recorder {
                    delay,
                    ..Default::default()
                },
                per_host,
            ),
        }
    }

    fn rec(&self) -> &Recorder {
        self.limited.wire()
    }

    /// Answer commands containing `pattern` with `answer` (first matching rule wins).
    pub(crate) fn on(&self, pattern: &str, answer: Result<CmdOutput, ExecError>) -> &Self {
        self.rec().rules.lock().unwrap().push(Rule {
            pattern: pattern.to_string(),
            answer,
            times: None,
        });
        self
    }

    /// Every command run so far, argv joined by spaces (readable; exact argv: [`Self::argvs`]).
    pub(crate) fn lines(&self) -> Vec<String> {
        self.rec()
            .log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, argv)| argv.join(" "))
            .collect()
    }

    pub(crate) fn argvs(&self) -> Vec<Vec<String>> {
        self.rec()
            .log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, a)| a.clone())
            .collect()
    }

    pub(crate) fn hosts(&self) -> Vec<String> {
        self.rec()
            .log
            .lock()
            .unwrap()
            .iter()
            .map(|(h, _)| h.clone())
            .collect()
    }

    /// The most commands that were in flight at once on `host`.
    pub(crate) fn peak(&self, host: &str) -> usize {
        let flight = self.rec().flight.lock().unwrap();
        flight.peak.get(host).copied().unwrap_or(0)
    }

    /// The most commands that were in flight at once over all nodes.
    pub(crate) fn peak_all(&self) -> usize {
        self.rec().flight.lock().unwrap().all_peak
    }
}

#[async_trait]
impl Transport for FakeTransport {
    fn name(&self) -> &'static str {
        self.limited.name()
    }

    async fn run(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError> {
        self.limited.run(host, cmd).await
    }
}

impl Recorder {
    fn answer(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError> {
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

    fn enter(&self, host: &str) {
        let mut f = self.flight.lock().unwrap();
        let now = f.now.entry(host.to_string()).or_default();
        *now += 1;
        let now = *now;
        let peak = f.peak.entry(host.to_string()).or_default();
        *peak = (*peak).max(now);
        f.all_now += 1;
        f.all_peak = f.all_peak.max(f.all_now);
    }

    fn leave(&self, host: &str) {
        let mut f = self.flight.lock().unwrap();
        if let Some(n) = f.now.get_mut(host) {
            *n -= 1;
        }
        f.all_now -= 1;
    }
}

#[async_trait]
impl Wire for Recorder {
    fn name(&self) -> &'static str {
        "fake"
    }

    async fn run_unlimited(&self, host: &str, cmd: &Cmd) -> Result<CmdOutput, ExecError> {
        self.enter(host);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let answer = self.answer(host, cmd);
        self.leave(host);
        answer
    }
}
