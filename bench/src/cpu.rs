//! CPU time of a process, from `/proc/<pid>/stat` (user + system, every thread).

use std::{sync::OnceLock, time::Duration};

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux unless built otherwise).
fn ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .filter(|&ticks| ticks > 0)
            .unwrap_or(100)
    })
}

/// User + system CPU time used so far by process `pid` (`"self"` for this one).
pub fn used(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of stat(5); field 3 (state) is fields[0] here.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = utime + stime;
    let per_second = ticks_per_second();
    Some(Duration::from_micros(ticks * 1_000_000 / per_second))
}

/// CPU time used between two readings, split per completed unit of work.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spent {
    /// CPU seconds over the window.
    pub seconds: f64,
    /// Milliseconds of CPU per completed unit (NaN when none completed).
    pub ms_per_unit: f64,
}

impl Spent {
    pub fn between(before: Option<Duration>, after: Option<Duration>, units: usize) -> Self {
        match (before, after) {
            (Some(before), Some(after)) => {
                let seconds = after.saturating_sub(before).as_secs_f64();
                Self {
                    seconds,
                    ms_per_unit: if units == 0 {
                        f64::NAN
                    } else {
                        seconds * 1000.0 / units as f64
                    },
                }
            }
            _ => Self {
                seconds: f64::NAN,
                ms_per_unit: f64::NAN,
            },
        }
    }
}
