//! Who is signed in, and for how long. The token and the session live only in memory
//! (a signal): never in localStorage, cookies or URLs, so closing the tab or an automatic
//! logoff leaves nothing behind. The idle policy is plain arithmetic, tested on its own.

use crate::i18n::Msg;
use std::fmt;

use haven_protocol::audit::SessionEndReason;
use haven_protocol::identity::SessionInfo;

/// A signed-in session: the bearer token and what the server said about it.
#[derive(Clone, PartialEq)]
pub struct Auth {
    pub token: String,
    pub info: SessionInfo,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("token", &"<redacted>")
            .field("role", &self.info.role)
            .finish()
    }
}

/// Where the person is in the idle countdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdlePhase {
    Active,
    /// The warning is showing; sign-out in this many seconds.
    Warning {
        remaining_secs: u32,
    },
    Expired,
}

/// How long the warning shows before an automatic logoff: 60 seconds, or a third of a
/// very short idle timeout.
pub fn warning_secs(timeout_secs: u32) -> u32 {
    60.min(timeout_secs / 3).max(1)
}

/// The phase after `idle_ms` without keyboard, pointer or touch input.
pub fn idle_phase(timeout_secs: u32, idle_ms: f64) -> IdlePhase {
    let timeout_ms = f64::from(timeout_secs) * 1000.0;
    let warn_ms = f64::from(warning_secs(timeout_secs)) * 1000.0;
    if idle_ms >= timeout_ms {
        IdlePhase::Expired
    } else if idle_ms >= timeout_ms - warn_ms {
        let remaining = ((timeout_ms - idle_ms) / 1000.0).ceil();
        IdlePhase::Warning {
            remaining_secs: if remaining >= 1.0 {
                remaining as u32
            } else {
                1
            },
        }
    } else {
        IdlePhase::Active
    }
}

/// Why the person is looking at the sign-in page again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedOut {
    ByUser,
    Inactivity,
    /// The server ended the session; the reason is the server's stable word for it.
    Ended(SessionEndReason),
}

impl SignedOut {
    pub fn message(&self) -> Msg {
        match self {
            Self::ByUser => Msg::SignedOutByUser,
            Self::Inactivity => Msg::SignedOutInactivity,
            Self::Ended(reason) => match reason {
                SessionEndReason::Deactivated => Msg::SignedOutDeactivated,
                SessionEndReason::RoleChanged => Msg::SignedOutRoleChanged,
                SessionEndReason::SignedOut => Msg::SignedOutElsewhere,
                SessionEndReason::FactorChanged => Msg::SignedOutFactorChanged,
                SessionEndReason::DeviceRevoked => Msg::SignedOutDeviceRevoked,
                _ => Msg::SignedOutEnded,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn idle_policy_warns_then_expires() {
        assert_eq!(warning_secs(900), 60);
        assert_eq!(warning_secs(15), 5);
        assert_eq!(idle_phase(900, 0.0), IdlePhase::Active);
        assert_eq!(idle_phase(900, 839_999.0), IdlePhase::Active);
        assert_eq!(
            idle_phase(900, 840_000.0),
            IdlePhase::Warning { remaining_secs: 60 }
        );
        assert_eq!(
            idle_phase(900, 899_500.0),
            IdlePhase::Warning { remaining_secs: 1 }
        );
        assert_eq!(idle_phase(900, 900_000.0), IdlePhase::Expired);
    }
}
