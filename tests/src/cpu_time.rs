//! CPU time from `/proc`: the whole machine's busy time and one process's, read before and
//! after a measured stretch. Throughput on this machine moves ±15 % from run to run; CPU time
//! spent per killmail is what a faster pipeline has to lower, and it moves less.

/// Clock ticks per second of `/proc`'s CPU times (`USER_HZ`, 100 on every Linux the project
/// runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSample {
    /// Seconds every core of the machine spent busy (not idle, not waiting for I/O).
    pub machine_busy: f64,
    /// Seconds the process spent on a CPU, user and kernel.
    pub process: f64,
    /// The process's minor page faults (fresh memory touched for the first time, among others).
    pub process_minor_faults: u64,
}

impl CpuSample {
    /// Now, for process `pid` (zeros for what cannot be read).
    pub fn now(pid: Option<u32>) -> Self {
        let machine_busy = std::fs::read_to_string("/proc/stat").ok().and_then(|s| machine_busy_seconds(&s)).unwrap_or(0.0);
        let (process, process_minor_faults) = pid
            .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
            .and_then(|s| process_cpu(&s))
            .unwrap_or((0.0, 0));
        Self { machine_busy, process, process_minor_faults }
    }

    /// What was spent from `earlier` to `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            machine_busy: self.machine_busy - earlier.machine_busy,
            process: self.process - earlier.process,
            process_minor_faults: self.process_minor_faults.saturating_sub(earlier.process_minor_faults),
        }
    }
}

/// Busy seconds of all cores from `/proc/stat`'s `cpu` line: user, nice, system, irq, softirq
/// and steal (idle and iowait left out).
fn machine_busy_seconds(proc_stat: &str) -> Option<f64> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<f64> = line.split_whitespace().skip(1).map(|t| t.parse().ok()).collect::<Option<_>>()?;
    let busy: f64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| ticks.get(i)).sum();
    Some(busy / TICKS_PER_SECOND)
}

/// (CPU seconds, minor faults) from `/proc/<pid>/stat`. The command name in parentheses may
/// hold spaces, so fields are counted after its closing parenthesis: minflt is the 10th field
/// of the line, utime and stime the 14th and 15th.
fn process_cpu(pid_stat: &str) -> Option<(f64, u64)> {
    let after_name: Vec<&str> = pid_stat.get(pid_stat.rfind(')')? + 1..)?.split_whitespace().collect();
    // after_name[0] is field 3 (the state).
    let field = |n: usize| after_name.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    Some(((field(14)? + field(15)?) as f64 / TICKS_PER_SECOND, field(10)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_busy_counts_user_nice_system_irq_softirq_and_steal_but_not_idle_or_iowait() {
        let stat = "cpu  100 20 30 5000 400 6 7 8 0 0\ncpu0 50 10 15 2500 200 3 3 4 0 0\n";
        assert_eq!(machine_busy_seconds(stat), Some((100.0 + 20.0 + 30.0 + 6.0 + 7.0 + 8.0) / 100.0));
        assert_eq!(machine_busy_seconds("intr 1 2 3\n"), None);
    }

    #[test]
    fn process_cpu_reads_past_a_command_name_with_spaces() {
        let stat = "4242 (tokio rt) S 1 4242 4242 0 -1 4194560 777 0 0 0 250 50 0 0 20 0 9 0 100 1000 50";
        assert_eq!(process_cpu(stat), Some((3.0, 777)));
        assert_eq!(process_cpu("4242 (x) S 1"), None);
    }

    #[test]
    fn since_is_the_difference() {
        let (a, b) = (
            CpuSample { machine_busy: 10.0, process: 4.0, process_minor_faults: 100 },
            CpuSample { machine_busy: 40.0, process: 19.0, process_minor_faults: 1100 },
        );
        assert_eq!(b.since(&a), CpuSample { machine_busy: 30.0, process: 15.0, process_minor_faults: 1000 });
    }
}
