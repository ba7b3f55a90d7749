//! Pidfiles, process liveness and signals. Signals go through the `kill` program, so the
//! crate needs no unsafe code.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};

/// Reads a pidfile: `Ok(None)` when it does not exist, an error when it cannot be read or
/// does not hold a process id.
pub fn read_pidfile(path: &Path) -> Result<Option<u32>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let pid: u32 = text.trim().parse().with_context(|| {
                format!(
                    "pidfile {} does not hold a process id (it holds {:?})",
                    path.display(),
                    text.trim()
                )
            })?;
            Ok(Some(pid))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read pidfile {}", path.display())),
    }
}

/// True while process `pid` exists and is not a zombie. Uses `/proc` where it exists (a
/// daemonized server whose parent never reaps it stays a zombie after exiting), else `kill -0`.
pub fn alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    if Path::new("/proc/self/stat").exists() {
        return match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // Format: `pid (comm) S ...`; comm may contain spaces and parentheses.
            Ok(stat) => match stat.rfind(')') {
                Some(i) => !matches!(stat[i + 1..].trim_start().chars().next(), Some('Z' | 'X')),
                None => true,
            },
            Err(_) => false,
        };
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Sends `sig` (a name such as `TERM`) to `pid`.
pub fn signal(pid: u32, sig: &str) -> Result<()> {
    let out = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .output()
        .context("cannot run the `kill` program")?;
    if !out.status.success() {
        bail!(
            "kill -{sig} {pid} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The last `n` lines of a text file (empty when it cannot be read).
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_pid_zero_is_not() {
        assert!(alive(std::process::id()));
        assert!(!alive(0));
    }

    #[test]
    fn pidfile_missing_garbage_and_valid() {
        let dir =
            std::env::temp_dir().join(format!("ferrodis-topology-pid-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let p = dir.join("redis.pid");
        let _ = std::fs::remove_file(&p);
        assert!(matches!(read_pidfile(&p), Ok(None)));
        std::fs::write(&p, "123\n").ok();
        assert!(matches!(read_pidfile(&p), Ok(Some(123))));
        std::fs::write(&p, "abc").ok();
        assert!(read_pidfile(&p).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
