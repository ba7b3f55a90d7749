//! CONFIG GET / CONFIG SET semantics of redis-server 7.0.

use crate::glob::glob_match;
use crate::model::{Config, EnableOption};
use crate::table::{lookup, ApplyCtx, Directive, Mutability, DIRECTIVES};
use crate::values::text;

/// Directives whose CONFIG SET value is split on single spaces into several arguments.
pub(crate) const MULTI_ARG: &[&str] = &[
    "save",
    "bind",
    "client-output-buffer-limit",
    "oom-score-adj-values",
    "latency-tracking-info-percentiles",
    "replicaof",
    "shutdown-on-sigint",
    "shutdown-on-sigterm",
];

/// Redis's hidden (test-only) directives: CONFIG GET and SET by exact name work, patterns
/// never list them.
pub(crate) const HIDDEN: &[&str] = &[
    "rdb-key-save-delay",
    "key-load-delay",
    "loading-process-events-interval-bytes",
];

/// The table name (canonical or alias) that `name` resolves to.
fn matched_name(d: &'static Directive, name: &[u8]) -> &'static str {
    d.aliases
        .iter()
        .copied()
        .find(|a| a.as_bytes().eq_ignore_ascii_case(name))
        .unwrap_or(d.name)
}

impl Config {
    /// CONFIG GET for one pattern: `(name, value)` pairs.
    ///
    /// A pattern without `*`, `?` or `[` is an exact, case-insensitive lookup and the name is
    /// returned as given (as Redis 7.0 does). Otherwise every canonical name and alias that
    /// matches (Redis glob rules, case-insensitive) is returned, in table order.
    pub fn get(&self, pattern: &[u8]) -> Vec<(String, String)> {
        if !pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
            return lookup(pattern)
                .map(|d| vec![(text(pattern), d.get(self))])
                .unwrap_or_default();
        }
        let mut out = Vec::new();
        for d in DIRECTIVES.iter().filter(|d| !HIDDEN.contains(&d.name)) {
            for name in std::iter::once(&d.name).chain(d.aliases) {
                if glob_match(pattern, name.as_bytes(), true) {
                    out.push((name.to_string(), d.get(self)));
                }
            }
        }
        out
    }

    /// CONFIG SET from a client that is not local (see [`Config::set_as`]).
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
        self.set_as(pairs, false)
    }

    /// CONFIG SET, atomic over all pairs: either every value is applied or none is.
    ///
    /// Returns the canonical names of directives whose value changed, or the full error reply
    /// text (`ERR ...`). `client_is_local` matters only for protected configs (`dir`,
    /// `dbfilename`) when `enable-protected-configs` is `local`.
    pub fn set_as(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        client_is_local: bool,
    ) -> Result<Vec<&'static str>, String> {
        let protected_ok = match self.enable_protected_configs {
            EnableOption::Yes => true,
            EnableOption::Local => client_is_local,
            EnableOption::No => false,
        };
        // 1. Resolve names; the first problem found is the one reported.
        let mut chosen: Vec<(&'static Directive, &'static str, &[u8])> =
            Vec::with_capacity(pairs.len());
        for &(name, value) in pairs {
            let Some(d) = lookup(name) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    text(name)
                ));
            };
            let reason = match d.mutability {
                Mutability::Immutable => Some("can't set immutable config"),
                Mutability::Protected if !protected_ok => Some("can't set protected config"),
                _ => None,
            };
            let entry = matched_name(d, name);
            let reason = reason.or_else(|| {
                chosen
                    .iter()
                    .any(|c| c.1 == entry)
                    .then_some("duplicate parameter")
            });
            if let Some(reason) = reason {
                return Err(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{}') - {reason}",
                    text(name)
                ));
            }
            chosen.push((d, entry, value));
        }
        // 2. Apply to a copy; on any failure the copy is dropped and nothing changed.
        let mut next = self.clone();
        let mut ctx = ApplyCtx::default();
        for &(d, entry, value) in &chosen {
            let args: Vec<Vec<u8>> = if MULTI_ARG.contains(&d.name) {
                if value.is_empty() {
                    Vec::new()
                } else {
                    value.split(|&b| b == b' ').map(<[u8]>::to_vec).collect()
                }
            } else {
                vec![value.to_vec()]
            };
            d.apply(&mut next, &args, &mut ctx).map_err(|reason| {
                format!("ERR CONFIG SET failed (possibly related to argument '{entry}') - {reason}")
            })?;
        }
        let mut changed: Vec<&'static str> = Vec::new();
        for &(d, _, _) in &chosen {
            if d.get(self) != d.get(&next) && !changed.contains(&d.name) {
                changed.push(d.name);
            }
        }
        *self = next;
        Ok(changed)
    }
}
