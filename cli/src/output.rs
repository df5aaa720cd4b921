//! Writing to stdout/stderr. Write errors (e.g. a closed pipe) are ignored on purpose:
//! heketi-cli does not report them either, and there is nobody left to tell.

use std::io::Write;

pub fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.flush();
}

pub fn err(s: &str) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(s.as_bytes());
    let _ = e.flush();
}
