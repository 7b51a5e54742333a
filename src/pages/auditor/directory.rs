//! Names for the ids in the audit log. The log keeps ids only (never names); the
//! auditor's page asks `GET /api/audit/people` for the people of the organisation and
//! shows a name where it knows one, the id where it does not (someone removed, or the
//! list could not be loaded). Kinds, roles and actions are named by catalogue messages
//! ([`Msg`]), never by the wire words. Pure: no browser APIs, tested on its own.

use std::collections::HashMap;

use haven_protocol::access::Role;
use haven_protocol::audit::AuditAction;
use haven_protocol::identity::AuditPerson;

use crate::i18n::Msg;

/// Who an id is, as far as the page knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub role: Option<Role>,
}

#[derive(Debug, Clone, Default)]
pub struct Directory {
    people: HashMap<String, (String, Role)>,
}

/// A target as the table shows it: what kind of thing, and who or which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The kind's name (patient, user, invitation, ...); `None` when the target has no
    /// known kind.
    pub kind: Option<Msg>,
    pub text: String,
    /// Whether `text` is a bare identifier (no name known for it), shown as code.
    pub is_id: bool,
}

impl Directory {
    pub fn new(people: Vec<AuditPerson>) -> Self {
        Self {
            people: people
                .into_iter()
                .map(|p| {
                    (
                        p.id.as_str().to_owned(),
                        (p.display_name.to_string(), p.role),
                    )
                })
                .collect(),
        }
    }

    /// The name for `id`, or the id itself.
    pub fn person(&self, id: &str) -> Named {
        match self.people.get(id) {
            Some((name, role)) => Named {
                name: name.clone(),
                role: Some(*role),
            },
            None => Named {
                name: id.to_owned(),
                role: None,
            },
        }
    }

    pub fn knows(&self, id: &str) -> bool {
        self.people.contains_key(id)
    }

    /// A `kind:id` target (`user:…`, `patient:…`, `invitation:…`, `grant:…`, `list:…`)
    /// with the person's name where the id is a person's.
    pub fn target(&self, target: &str) -> Target {
        let Some((kind, rest)) = target.split_once(':') else {
            return Target {
                kind: None,
                text: self.person(target).name,
                is_id: !self.knows(target),
            };
        };
        let kind_label = match kind {
            "user" => Some(Msg::AuditTargetUser),
            "patient" => Some(Msg::AuditTargetPatient),
            "invitation" => Some(Msg::AuditTargetInvitation),
            "grant" => Some(Msg::AuditTargetGrant),
            "list" => Some(Msg::AuditTargetList),
            _ => None,
        };
        match kind_label {
            // A list is named by the server's words, not by an id.
            Some(label) if kind == "list" => Target {
                kind: Some(label),
                text: rest.to_owned(),
                is_id: false,
            },
            Some(label) => Target {
                kind: Some(label),
                text: self.person(rest).name,
                is_id: !self.knows(rest),
            },
            None => Target {
                kind: None,
                text: target.to_owned(),
                is_id: true,
            },
        }
    }

    /// Everyone, grouped by role in the permission table's order, by name within a role;
    /// with `only`, one role.
    pub fn by_role(&self, only: Option<Role>) -> Vec<(Role, Vec<(String, String)>)> {
        Role::ALL
            .into_iter()
            .filter(|r| only.is_none_or(|o| o == *r))
            .filter_map(|role| {
                let mut people: Vec<(String, String)> = self
                    .people
                    .iter()
                    .filter(|(_, (_, r))| *r == role)
                    .map(|(id, (name, _))| (id.clone(), name.clone()))
                    .collect();
                people.sort_by(|a, b| {
                    a.1.to_lowercase()
                        .cmp(&b.1.to_lowercase())
                        .then(a.0.cmp(&b.0))
                });
                (!people.is_empty()).then_some((role, people))
            })
            .collect()
    }
}

/// An action as a phrase: `sign_in_failed` reads "Sign in failed".
pub fn action_label(action: AuditAction) -> Msg {
    use AuditAction as A;
    match action {
        A::SignIn => Msg::AuditActionSignIn,
        A::SignInFailed => Msg::AuditActionSignInFailed,
        A::SignInThrottled => Msg::AuditActionSignInThrottled,
        A::SecondFactorFailed => Msg::AuditActionSecondFactorFailed,
        A::SecondFactorEnrolled => Msg::AuditActionSecondFactorEnrolled,
        A::SignOut => Msg::AuditActionSignOut,
        A::AutoLogoff => Msg::AuditActionAutoLogoff,
        A::SessionExpired => Msg::AuditActionSessionExpired,
        A::SessionEnded => Msg::AuditActionSessionEnded,
        A::InvitationCreated => Msg::AuditActionInvitationCreated,
        A::InvitationAccepted => Msg::AuditActionInvitationAccepted,
        A::InvitationRevoked => Msg::AuditActionInvitationRevoked,
        A::InvitationRefused => Msg::AuditActionInvitationRefused,
        A::RoleChanged => Msg::AuditActionRoleChanged,
        A::AccountDeactivated => Msg::AuditActionAccountDeactivated,
        A::SettingsChanged => Msg::AuditActionSettingsChanged,
        A::EmbeddingChanged => Msg::AuditActionEmbeddingChanged,
        A::BrandChanged => Msg::AuditActionBrandChanged,
        A::BreakGlassGranted => Msg::AuditActionBreakGlassGranted,
        A::BreakGlassEnded => Msg::AuditActionBreakGlassEnded,
        A::CareTeamJoined => Msg::AuditActionCareTeamJoined,
        A::RecordOpened => Msg::AuditActionRecordOpened,
        A::PatientListRead => Msg::AuditActionPatientListRead,
        A::AuditExported => Msg::AuditActionAuditExported,
        A::WitnessAlarm => Msg::AuditActionWitnessAlarm,
        A::DeviceRegistered => Msg::AuditActionDeviceRegistered,
        A::DeviceRevoked => Msg::AuditActionDeviceRevoked,
        A::DeviceStateKeyReleased => Msg::AuditActionDeviceStateKeyReleased,
        A::KeyPackageClaimed => Msg::AuditActionKeyPackageClaimed,
        A::ConversationCreated => Msg::AuditActionConversationCreated,
        A::ConversationOpened => Msg::AuditActionConversationOpened,
        A::MessageSent => Msg::AuditActionMessageSent,
        A::MessageDelivered => Msg::AuditActionMessageDelivered,
        A::MessageRead => Msg::AuditActionMessageRead,
        A::MemberAdded => Msg::AuditActionMemberAdded,
        A::MemberRemoved => Msg::AuditActionMemberRemoved,
        A::AttachmentUploaded => Msg::AuditActionAttachmentUploaded,
        A::AttachmentDownloaded => Msg::AuditActionAttachmentDownloaded,
        A::QuotaExceeded => Msg::AuditActionQuotaExceeded,
        A::VisitScheduled => Msg::AuditActionVisitScheduled,
        A::VisitCancelled => Msg::AuditActionVisitCancelled,
        A::VisitCreated => Msg::AuditActionVisitCreated,
        A::VisitWaiting => Msg::AuditActionVisitWaiting,
        A::VisitAdmitted => Msg::AuditActionVisitAdmitted,
        A::VisitDeclined => Msg::AuditActionVisitDeclined,
        A::VisitLeft => Msg::AuditActionVisitLeft,
        A::VisitEnded => Msg::AuditActionVisitEnded,
    }
}

/// What an action means, in one sentence for the auditor (the catalogue's wording of
/// [`AuditAction::about`]).
pub fn action_about(action: AuditAction) -> Msg {
    use AuditAction as A;
    match action {
        A::SignIn => Msg::AuditAboutSignIn,
        A::SignInFailed => Msg::AuditAboutSignInFailed,
        A::SignInThrottled => Msg::AuditAboutSignInThrottled,
        A::SecondFactorFailed => Msg::AuditAboutSecondFactorFailed,
        A::SecondFactorEnrolled => Msg::AuditAboutSecondFactorEnrolled,
        A::SignOut => Msg::AuditAboutSignOut,
        A::AutoLogoff => Msg::AuditAboutAutoLogoff,
        A::SessionExpired => Msg::AuditAboutSessionExpired,
        A::SessionEnded => Msg::AuditAboutSessionEnded,
        A::InvitationCreated => Msg::AuditAboutInvitationCreated,
        A::InvitationAccepted => Msg::AuditAboutInvitationAccepted,
        A::InvitationRevoked => Msg::AuditAboutInvitationRevoked,
        A::InvitationRefused => Msg::AuditAboutInvitationRefused,
        A::RoleChanged => Msg::AuditAboutRoleChanged,
        A::AccountDeactivated => Msg::AuditAboutAccountDeactivated,
        A::SettingsChanged => Msg::AuditAboutSettingsChanged,
        A::EmbeddingChanged => Msg::AuditAboutEmbeddingChanged,
        A::BrandChanged => Msg::AuditAboutBrandChanged,
        A::BreakGlassGranted => Msg::AuditAboutBreakGlassGranted,
        A::BreakGlassEnded => Msg::AuditAboutBreakGlassEnded,
        A::CareTeamJoined => Msg::AuditAboutCareTeamJoined,
        A::RecordOpened => Msg::AuditAboutRecordOpened,
        A::PatientListRead => Msg::AuditAboutPatientListRead,
        A::AuditExported => Msg::AuditAboutAuditExported,
        A::WitnessAlarm => Msg::AuditAboutWitnessAlarm,
        A::DeviceRegistered => Msg::AuditAboutDeviceRegistered,
        A::DeviceRevoked => Msg::AuditAboutDeviceRevoked,
        A::DeviceStateKeyReleased => Msg::AuditAboutDeviceStateKeyReleased,
        A::KeyPackageClaimed => Msg::AuditAboutKeyPackageClaimed,
        A::ConversationCreated => Msg::AuditAboutConversationCreated,
        A::ConversationOpened => Msg::AuditAboutConversationOpened,
        A::MessageSent => Msg::AuditAboutMessageSent,
        A::MessageDelivered => Msg::AuditAboutMessageDelivered,
        A::MessageRead => Msg::AuditAboutMessageRead,
        A::MemberAdded => Msg::AuditAboutMemberAdded,
        A::MemberRemoved => Msg::AuditAboutMemberRemoved,
        A::AttachmentUploaded => Msg::AuditAboutAttachmentUploaded,
        A::AttachmentDownloaded => Msg::AuditAboutAttachmentDownloaded,
        A::QuotaExceeded => Msg::AuditAboutQuotaExceeded,
        A::VisitScheduled => Msg::AuditAboutVisitScheduled,
        A::VisitCancelled => Msg::AuditAboutVisitCancelled,
        A::VisitCreated => Msg::AuditAboutVisitCreated,
        A::VisitWaiting => Msg::AuditAboutVisitWaiting,
        A::VisitAdmitted => Msg::AuditAboutVisitAdmitted,
        A::VisitDeclined => Msg::AuditAboutVisitDeclined,
        A::VisitLeft => Msg::AuditAboutVisitLeft,
        A::VisitEnded => Msg::AuditAboutVisitEnded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use haven_protocol::identity::{DisplayName, Id};
    use wasm_bindgen_test::wasm_bindgen_test;

    const PAT: &str = "0123456789abcdef0123456789abcdef";
    const DOC: &str = "fedcba9876543210fedcba9876543210";
    const GONE: &str = "00000000000000000000000000000000";

    fn directory() -> Directory {
        let person = |id: &str, name: &str, role| AuditPerson {
            id: Id::parse(id).unwrap(),
            display_name: DisplayName::parse(name).unwrap(),
            role,
        };
        Directory::new(vec![
            person(PAT, "Pat Okafor", Role::Patient),
            person(DOC, "Dr. Cleo Ruiz", Role::Clinician),
        ])
    }

    #[wasm_bindgen_test]
    fn known_ids_read_as_names_and_unknown_ones_as_ids() {
        let d = directory();
        assert_eq!(
            d.person(DOC),
            Named {
                name: "Dr. Cleo Ruiz".into(),
                role: Some(Role::Clinician)
            }
        );
        assert_eq!(
            d.person(GONE),
            Named {
                name: GONE.into(),
                role: None
            }
        );
    }

    #[wasm_bindgen_test]
    fn targets_keep_their_kind_and_name_people() {
        let d = directory();
        let t = d.target(&format!("patient:{PAT}"));
        assert_eq!(
            (t.kind, t.text.as_str(), t.is_id),
            (Some(Msg::AuditTargetPatient), "Pat Okafor", false)
        );
        let t = d.target(&format!("user:{GONE}"));
        assert_eq!(
            (t.kind, t.text.as_str(), t.is_id),
            (Some(Msg::AuditTargetUser), GONE, true)
        );
        let t = d.target("list:open invitations");
        assert_eq!(
            (t.kind, t.text.as_str()),
            (Some(Msg::AuditTargetList), "open invitations")
        );
        let t = d.target("something:else");
        assert_eq!((t.kind, t.text.as_str()), (None, "something:else"));
        assert!(!d.target(PAT).is_id);
        assert!(!d.target("list:users").is_id);
    }

    #[wasm_bindgen_test]
    fn pickers_group_by_role_in_table_order() {
        let d = directory();
        let groups = d.by_role(None);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].0, Role::Patient);
        assert_eq!(
            groups[1].1,
            vec![(DOC.to_owned(), "Dr. Cleo Ruiz".to_owned())]
        );
        assert_eq!(d.by_role(Some(Role::Patient)).len(), 1);
        assert!(d.by_role(Some(Role::Auditor)).is_empty());
    }

    #[wasm_bindgen_test]
    fn every_action_and_role_has_a_message_of_its_own() {
        use std::collections::HashSet;
        let labels: HashSet<Msg> = AuditAction::ALL.iter().map(|a| action_label(*a)).collect();
        let abouts: HashSet<Msg> = AuditAction::ALL.iter().map(|a| action_about(*a)).collect();
        assert_eq!(labels.len(), AuditAction::ALL.len());
        assert_eq!(abouts.len(), AuditAction::ALL.len());
        assert!(labels.is_disjoint(&abouts));
        let roles: HashSet<Msg> = Role::ALL.into_iter().map(crate::i18n::role_name).collect();
        assert_eq!(roles.len(), Role::ALL.len());
        assert_eq!(
            action_label(AuditAction::SignInFailed),
            Msg::AuditActionSignInFailed
        );
    }
}
