//! Extension releases and release-note gates, read from `targets/releases.yaml`.
//! Behaviour that depends on `extension.version` asks [`Releases::gates`], never compares
//! versions itself, so each gate lives in one data row citing its release-note line.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// A release version `major.minor.patch`, ordered numerically (1.1.10 > 1.1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let mut it = s.split('.').map(|p| p.parse::<u32>().ok());
        let v = Version(it.next()??, it.next()??, it.next()??);
        it.next().is_none().then_some(v)
    }
}

impl Ord for Version {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.0, self.1, self.2).cmp(&(o.0, o.1, o.2))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    pub version: String,
    pub date: String,
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Gate {
    pub name: String,
    pub since: String,
    /// The release-note line that introduced the behaviour.
    pub line: String,
}

impl Gate {
    /// The release-note line as a user reads it: `release 1.1.16 ("Support Tolerance")`,
    /// the note's text quoted without the version prefix or trailing punctuation.
    pub fn cite(&self) -> String {
        let text = self
            .line
            .split_once(':')
            .map_or(self.line.as_str(), |(_, text)| text)
            .trim()
            .trim_end_matches(['.', ';', ',', ' ']);
        format!("release {} (\"{text}\")", self.since)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesWindow {
    /// N in the seed's N-2 support window.
    pub latest_aks_minor: String,
    pub as_of: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Releases {
    pub releases: Vec<Release>,
    pub gates: Vec<Gate>,
    pub kubernetes: KubernetesWindow,
}

impl Releases {
    /// The embedded table (parsed once).
    pub fn embedded() -> &'static Releases {
        static R: OnceLock<Releases> = OnceLock::new();
        R.get_or_init(|| {
            let text = crate::embedded::file("targets/releases.yaml")
                .expect("targets/releases.yaml is embedded at build time");
            crate::embedded::read_yaml("targets/releases.yaml", text)
                .expect("targets/releases.yaml is valid (a test proves it)")
        })
    }

    pub fn is_known(&self, version: &str) -> bool {
        self.releases.iter().any(|r| r.version == version)
    }

    /// Known versions, oldest first.
    pub fn known(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.releases.iter().map(|r| r.version.as_str()).collect();
        v.sort_by_key(|s| Version::parse(s));
        v
    }

    pub fn newest(&self) -> &str {
        self.known()
            .last()
            .copied()
            .unwrap_or(crate::config::NEWEST_VERSION)
    }

    /// Every gate by name, on or off for this version.
    pub fn gates(&self, version: &str) -> BTreeMap<String, bool> {
        let v = Version::parse(version);
        self.gates
            .iter()
            .map(|g| (g.name.clone(), v >= Version::parse(&g.since)))
            .collect()
    }

    pub fn gate(&self, name: &str) -> Option<&Gate> {
        self.gates.iter().find(|g| g.name == name)
    }

    /// Whether a named gate is on for a version. An unknown gate name is amlc's bug.
    pub fn is_on(&self, name: &str, version: &str) -> bool {
        let gate = self
            .gate(name)
            .unwrap_or_else(|| panic!("bug in amlc: no release gate named {name}"));
        Version::parse(version) >= Version::parse(&gate.since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_numerically() {
        assert!(Version::parse("1.1.10").unwrap() > Version::parse("1.1.9").unwrap());
        assert_eq!(Version::parse("1.1"), None);
        assert_eq!(Version::parse("1.1.x"), None);
    }

    #[test]
    fn table_parses_and_every_gate_starts_at_a_known_release() {
        let r = Releases::embedded();
        assert_eq!(r.newest(), crate::config::NEWEST_VERSION);
        for g in &r.gates {
            assert!(
                r.is_known(&g.since),
                "gate {} starts at unknown {}",
                g.name,
                g.since
            );
            assert!(
                g.line.starts_with(&format!("{}:", g.since)),
                "gate {} cites its line",
                g.name
            );
        }
    }

    #[test]
    fn gates_cite_their_note_readably() {
        let r = Releases::embedded();
        assert_eq!(
            r.gate("tolerations").unwrap().cite(),
            "release 1.1.16 (\"Support Tolerance\")"
        );
        for g in &r.gates {
            let cite = g.cite();
            assert!(!cite.contains(".\"") && !cite.contains(';'), "{cite}");
        }
    }

    #[test]
    fn gates_follow_the_release_notes() {
        let r = Releases::embedded();
        assert!(!r.is_on("noRelayOnAks", "1.0.37"));
        assert!(r.is_on("noRelayOnAks", "1.1.5"));
        assert!(!r.is_on("tolerations", "1.1.10"));
        assert!(r.is_on("tolerations", "1.1.16"));
        assert!(!r.is_on("fluentBitSidecar", "1.1.16"));
        assert!(r.is_on("fluentBitSidecar", "1.1.17"));
    }
}
