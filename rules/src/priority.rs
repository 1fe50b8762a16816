//! Falco rule priorities.

use std::fmt;
use std::str::FromStr;

/// A rule priority, most severe first (the order Falco uses for `priority:` filtering).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// System is unusable.
    Emergency,
    /// Immediate action required.
    Alert,
    /// Critical condition.
    Critical,
    /// Error condition.
    Error,
    /// Warning condition.
    Warning,
    /// Normal but significant.
    Notice,
    /// Informational (`INFO` is accepted as an alias).
    Informational,
    /// Debug-level.
    Debug,
}

impl Priority {
    /// Every priority, most severe first.
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    /// The name Falco prints in alerts (`Warning`, `Informational`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }

    /// Whether an alert of this priority passes a minimum-priority filter.
    pub fn at_least(self, min: Priority) -> bool {
        self <= min
    }
}

/// An unknown priority name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown priority '{0}' (expected one of emergency, alert, critical, error, warning, notice, informational/info, debug)")]
pub struct UnknownPriority(pub String);

impl FromStr for Priority {
    type Err = UnknownPriority;

    /// Case-insensitive, `info` accepted for `Informational` (as Falco).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("info") {
            return Ok(Priority::Informational);
        }
        Priority::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownPriority(s.to_owned()))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        assert_eq!("WARNING".parse::<Priority>(), Ok(Priority::Warning));
        assert_eq!("info".parse::<Priority>(), Ok(Priority::Informational));
        assert!("loud".parse::<Priority>().is_err());
        assert!(Priority::Critical.at_least(Priority::Warning));
        assert!(!Priority::Debug.at_least(Priority::Warning));
    }
}
