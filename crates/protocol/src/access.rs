//! Roles, actions and the one permission table. The server checks it on every route and
//! every WebSocket message type; the app builds its navigation from it. Keeping it here,
//! once, is what makes "the view matches what the server enforces" true by construction.
//! The app's views are a convenience; the server's check is what protects the data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Patient,
    Clinician,
    Staff,
    Admin,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Patient,
        Role::Clinician,
        Role::Staff,
        Role::Admin,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Clinician => "clinician",
            Self::Staff => "staff",
            Self::Admin => "admin",
            Self::Auditor => "auditor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Patient => "Patient",
            Self::Clinician => "Clinician",
            Self::Staff => "Staff",
            Self::Admin => "Administrator",
            Self::Auditor => "Auditor",
        }
    }

    /// Who may be a member of an end-to-end encrypted conversation: patients and their
    /// clinicians. Staff, admins and auditors never are, and emergency access does not
    /// make anyone a member.
    pub fn converses(self) -> bool {
        allowed(self, Action::Converse)
    }

    /// Staff roles must have a second factor from their first sign-in; patients may.
    pub fn requires_totp(self) -> bool {
        !matches!(self, Self::Patient)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole)
    }
}

/// Everything a signed-in user can ask for. Each API route and each WebSocket message
/// type names exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read one's own session, sign out, keep the session alive.
    OwnSession,
    /// Enrol or change one's own second factor.
    EnrolTotp,
    /// Who accessed my record and when (break-glass included).
    ReadOwnActivity,
    ReadCareTeam,
    ReadOwnVisits,
    ReadMessages,
    /// Take part in end-to-end encrypted conversations: register MLS devices, publish
    /// and claim KeyPackages, send and receive.
    Converse,
    ListAssignedPatients,
    ReadPatientRecord,
    BreakGlass,
    InvitePatient,
    /// Bring another clinician into the care team of one's own patient.
    ManageCareTeam,
    ReadWaitingRoom,
    ReadSchedule,
    /// Schedule a video visit of a patient with a clinician of their care team.
    ScheduleVisit,
    ReadPatientContacts,
    ListUsers,
    InviteStaff,
    /// List and withdraw the organisation's open invitations.
    ManageInvitations,
    ChangeRole,
    DeactivateUser,
    ReadOrgSettings,
    UpdateOrgSettings,
    ReadBreakGlassEvents,
    ReadAudit,
    /// WebSocket: application-level keepalive and activity.
    WsSession,
}

use Role::{Admin, Auditor, Clinician, Patient, Staff};

/// The permission table: action -> the roles that may perform it. Everything not listed
/// is refused.
pub const PERMISSIONS: &[(Action, &[Role])] = &[
    (
        Action::OwnSession,
        &[Patient, Clinician, Staff, Admin, Auditor],
    ),
    (
        Action::EnrolTotp,
        &[Patient, Clinician, Staff, Admin, Auditor],
    ),
    (Action::ReadOwnActivity, &[Patient]),
    (Action::ReadCareTeam, &[Patient]),
    (Action::ReadOwnVisits, &[Patient]),
    (Action::ReadMessages, &[Patient, Clinician]),
    (Action::Converse, &[Patient, Clinician]),
    (Action::ListAssignedPatients, &[Clinician]),
    (Action::ReadPatientRecord, &[Clinician]),
    (Action::BreakGlass, &[Clinician]),
    (Action::InvitePatient, &[Clinician]),
    (Action::ManageCareTeam, &[Clinician]),
    (Action::ReadWaitingRoom, &[Clinician]),
    (Action::ReadSchedule, &[Staff]),
    (Action::ScheduleVisit, &[Clinician, Staff]),
    (Action::ReadPatientContacts, &[Staff]),
    (Action::ListUsers, &[Admin]),
    (Action::InviteStaff, &[Admin]),
    (Action::ManageInvitations, &[Admin]),
    (Action::ChangeRole, &[Admin]),
    (Action::DeactivateUser, &[Admin]),
    (Action::ReadOrgSettings, &[Admin]),
    (Action::UpdateOrgSettings, &[Admin]),
    (Action::ReadBreakGlassEvents, &[Admin]),
    (Action::ReadAudit, &[Auditor, Admin]),
    (
        Action::WsSession,
        &[Patient, Clinician, Staff, Admin, Auditor],
    ),
];

/// May `role` perform `action`?
pub fn allowed(role: Role, action: Action) -> bool {
    PERMISSIONS
        .iter()
        .any(|(a, roles)| *a == action && roles.contains(&role))
}

/// The app's views. Each needs one action; the navigation of a role is every view whose
/// action the table allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    CareTeam,
    Visits,
    Messages,
    MyActivity,
    MyPatients,
    WaitingRoom,
    Schedule,
    PatientContacts,
    Users,
    Invitations,
    OrgSettings,
    BreakGlassEvents,
    Audit,
}

impl View {
    pub const ALL: [View; 13] = [
        View::CareTeam,
        View::Visits,
        View::Messages,
        View::MyActivity,
        View::MyPatients,
        View::WaitingRoom,
        View::Schedule,
        View::PatientContacts,
        View::Users,
        View::Invitations,
        View::OrgSettings,
        View::BreakGlassEvents,
        View::Audit,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Self::CareTeam => "/care-team",
            Self::Visits => "/visits",
            Self::Messages => "/messages",
            Self::MyActivity => "/my-activity",
            Self::MyPatients => "/patients",
            Self::WaitingRoom => "/waiting-room",
            Self::Schedule => "/schedule",
            Self::PatientContacts => "/patient-contacts",
            Self::Users => "/admin/users",
            Self::Invitations => "/admin/invitations",
            Self::OrgSettings => "/admin/settings",
            Self::BreakGlassEvents => "/admin/break-glass",
            Self::Audit => "/audit",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::CareTeam => "Care team",
            Self::Visits => "Visits",
            Self::Messages => "Messages",
            Self::MyActivity => "My activity",
            Self::MyPatients => "My patients",
            Self::WaitingRoom => "Waiting room",
            Self::Schedule => "Scheduling",
            Self::PatientContacts => "Patient contacts",
            Self::Users => "Users",
            Self::Invitations => "Invitations",
            Self::OrgSettings => "Organisation settings",
            Self::BreakGlassEvents => "Emergency access",
            Self::Audit => "Audit log",
        }
    }

    pub fn requires(self) -> Action {
        match self {
            Self::CareTeam => Action::ReadCareTeam,
            Self::Visits => Action::ReadOwnVisits,
            Self::Messages => Action::ReadMessages,
            Self::MyActivity => Action::ReadOwnActivity,
            Self::MyPatients => Action::ListAssignedPatients,
            Self::WaitingRoom => Action::ReadWaitingRoom,
            Self::Schedule => Action::ReadSchedule,
            Self::PatientContacts => Action::ReadPatientContacts,
            Self::Users => Action::ListUsers,
            Self::Invitations => Action::InviteStaff,
            Self::OrgSettings => Action::ReadOrgSettings,
            Self::BreakGlassEvents => Action::ReadBreakGlassEvents,
            Self::Audit => Action::ReadAudit,
        }
    }

    pub fn from_path(path: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.path() == path)
    }
}

/// The views `role` may open, in display order.
pub fn navigation(role: Role) -> Vec<View> {
    View::ALL
        .into_iter()
        .filter(|v| allowed(role, v.requires()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_in_the_table_once() {
        let mut seen = std::collections::HashSet::new();
        for (action, roles) in PERMISSIONS {
            assert!(seen.insert(*action), "{action:?} listed twice");
            assert!(!roles.is_empty(), "{action:?} allows nobody");
        }
    }

    #[test]
    fn each_role_sees_only_its_views() {
        let names = |role| {
            navigation(role)
                .into_iter()
                .map(View::title)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(Patient),
            ["Care team", "Visits", "Messages", "My activity"]
        );
        assert_eq!(
            names(Clinician),
            ["Messages", "My patients", "Waiting room"]
        );
        assert_eq!(names(Staff), ["Scheduling", "Patient contacts"]);
        assert_eq!(
            names(Admin),
            [
                "Users",
                "Invitations",
                "Organisation settings",
                "Emergency access",
                "Audit log"
            ]
        );
        assert_eq!(names(Auditor), ["Audit log"]);
        // Staff never see clinical content.
        assert!(!allowed(Staff, Action::ReadPatientRecord));
        assert!(!allowed(Staff, Action::ReadMessages));
    }

    #[test]
    fn roles_parse_only_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        for bad in ["", "Admin", "root", "admin ", "patient\0"] {
            assert!(bad.parse::<Role>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn views_round_trip_through_their_paths() {
        for view in View::ALL {
            assert_eq!(View::from_path(view.path()), Some(view));
        }
        assert_eq!(View::from_path("/admin"), None);
    }
}
