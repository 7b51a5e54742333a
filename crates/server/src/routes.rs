//! Every API route with who may call it, in one table. The router is built from this
//! table and each route's guard takes its access from the same row, so a route cannot
//! exist without a permission check; the matrix test and the OpenAPI document walk the
//! same table.

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post, put};
use haven_protocol::access::Action;
use haven_protocol::identity as wire;
use utoipa::openapi::path::Parameter;
use utoipa::openapi::schema::{ArrayBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};

use crate::http::api;
use crate::identity::session::Access;
use crate::identity::{invitations, signin};
use crate::state::AppState;
use crate::{admin, audit, clinical, delivery, visits};
use haven_protocol::messaging as mls_wire;

/// Schemas a body needs, collected into the OpenAPI document's components.
pub type Schemas = Vec<(String, RefOr<Schema>)>;
/// Registers a body's schemas and returns the schema of the body itself.
pub type BodySchema = fn(&mut Schemas) -> RefOr<Schema>;
/// Registers the schemas of a route's query parameters and returns the parameters.
pub type QueryParameters = fn(&mut Schemas) -> Vec<Parameter>;

fn register<T: utoipa::ToSchema>(out: &mut Schemas) {
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

/// A JSON body of type `T`.
pub fn one<T: utoipa::ToSchema>(out: &mut Schemas) -> RefOr<Schema> {
    register::<T>(out);
    Ref::from_schema_name(T::name()).into()
}

/// A JSON array of `T`.
pub fn many<T: utoipa::ToSchema>(out: &mut Schemas) -> RefOr<Schema> {
    register::<T>(out);
    ArrayBuilder::new()
        .items(Ref::from_schema_name(T::name()))
        .build()
        .into()
}

/// One API route: method, path under `/api`, who may call it, and its bodies.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    /// The query parameters it reads (path parameters are read from `path`).
    pub query: Option<QueryParameters>,
    pub request: Option<BodySchema>,
    pub response: Option<BodySchema>,
    /// A non-JSON answer: its media type (the export's JSON Lines).
    pub raw_response: Option<&'static str>,
    /// A non-JSON request body: its media type (an encrypted attachment).
    pub raw_request: Option<&'static str>,
}

type Row = (RouteSpec, MethodRouter<AppState>);

fn spec(
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
) -> Row {
    let spec = RouteSpec {
        method,
        path,
        access,
        summary: "",
        query: None,
        request: None,
        response: None,
        raw_response: None,
        raw_request: None,
    };
    (spec, handler)
}

fn full(actions: &'static [Action]) -> Access {
    Access::Full(actions)
}

/// Documentation and body types of a row, kept beside the route itself.
trait Describe {
    fn doc(self, summary: &'static str) -> Self;
    fn query(self, parameters: QueryParameters) -> Self;
    fn takes(self, body: BodySchema) -> Self;
    fn gives(self, body: BodySchema) -> Self;
    fn gives_raw(self, media: &'static str) -> Self;
    fn takes_raw(self, media: &'static str) -> Self;
}

impl Describe for Row {
    fn doc(mut self, summary: &'static str) -> Self {
        self.0.summary = summary;
        self
    }
    fn query(mut self, parameters: QueryParameters) -> Self {
        self.0.query = Some(parameters);
        self
    }
    fn takes(mut self, body: BodySchema) -> Self {
        self.0.request = Some(body);
        self
    }
    fn gives(mut self, body: BodySchema) -> Self {
        self.0.response = Some(body);
        self
    }
    fn gives_raw(mut self, media: &'static str) -> Self {
        self.0.raw_response = Some(media);
        self
    }
    fn takes_raw(mut self, media: &'static str) -> Self {
        self.0.raw_request = Some(media);
        self
    }
}

pub fn table() -> Vec<Row> {
    use Access::{AnyStage, Public};
    use Method as M;
    vec![
        spec(M::GET, "/health", Public, get(api::health))
            .doc("Whether the server and its store are up")
            .gives(one::<haven_protocol::Health>),
        spec(M::GET, "/config", Public, get(api::config))
            .doc("The app's runtime configuration for the host it was asked on")
            .gives(one::<haven_protocol::RawRuntimeConfig>),
        spec(
            M::POST,
            "/csp-report",
            Public,
            post(api::csp_report).layer(DefaultBodyLimit::max(api::MAX_CSP_REPORT_BYTES)),
        )
        .doc("Browsers report Content-Security-Policy violations here"),
        spec(M::GET, "/openapi.json", Public, get(crate::http::openapi::serve))
            .doc("This document"),
        spec(M::GET, "/asyncapi.json", Public, get(crate::http::asyncapi::serve))
            .doc("The messaging WebSocket (/ws) as AsyncAPI 3.0: every frame either side sends, with its schema and examples"),
        spec(M::POST, "/auth/login", Public, post(signin::login))
            .doc("Sign in with email and password; the answer says what comes next")
            .takes(one::<wire::LoginRequest>)
            .gives(one::<wire::SignInResponse>),
        spec(M::POST, "/invitations/accept", Public, post(invitations::accept))
            .doc("Set up an account from a one-time invitation")
            .takes(one::<wire::AcceptInvitation>)
            .gives(one::<wire::SignInResponse>),
        spec(M::POST, "/auth/totp", AnyStage, post(signin::totp))
            .doc("Finish signing in with a code from the authenticator app")
            .takes(one::<wire::TotpRequest>)
            .gives(one::<wire::SignInResponse>),
        spec(M::POST, "/auth/totp/confirm", AnyStage, post(signin::confirm))
            .doc("Confirm a newly set-up authenticator with its first code")
            .takes(one::<wire::TotpRequest>)
            .gives(one::<wire::SignInResponse>),
        spec(M::POST, "/auth/logout", AnyStage, post(signin::logout))
            .doc("End this session on the server (optionally saying it was the automatic logoff)")
            .takes(one::<wire::LogoutRequest>),
        spec(M::GET, "/session", full(&[Action::OwnSession]), get(signin::current))
            .doc("The signed-in session")
            .gives(one::<wire::SessionInfo>),
        spec(M::POST, "/auth/totp/enrol", full(&[Action::EnrolTotp]), post(signin::enrol))
            .doc("Start setting up an authenticator app; replacing one needs a current code from it")
            .takes(one::<wire::EnrolRequest>)
            .gives(one::<wire::TotpEnrolment>),
        spec(
            M::POST,
            "/invitations",
            full(&[Action::InviteStaff, Action::InvitePatient]),
            post(invitations::invite),
        )
        .doc("Invite staff (admins) or a patient (clinicians) by a one-time link")
        .takes(one::<wire::InviteRequest>)
        .gives(one::<wire::InviteResponse>),
        spec(M::GET, "/invitations", full(&[Action::ManageInvitations]), get(invitations::list))
            .doc("Open invitations of the organisation (recorded as a read)")
            .gives(many::<wire::InvitationSummary>),
        spec(M::POST, "/invitations/{id}/revoke", full(&[Action::ManageInvitations]), post(invitations::revoke))
            .doc("Withdraw an open invitation"),
        spec(M::GET, "/users", full(&[Action::ListUsers]), get(admin::list_users))
            .doc("The organisation's users")
            .gives(many::<wire::UserSummary>),
        spec(M::POST, "/users/{id}/role", full(&[Action::ChangeRole]), post(admin::change_role))
            .doc("Change a user's role; their sessions end")
            .takes(one::<wire::ChangeRoleRequest>),
        spec(M::POST, "/users/{id}/deactivate", full(&[Action::DeactivateUser]), post(admin::deactivate))
            .doc("Deactivate a user; their sessions end and their sockets close at once"),
        spec(M::GET, "/org/settings", full(&[Action::ReadOrgSettings]), get(admin::settings))
            .doc("The organisation's settings")
            .gives(one::<wire::OrgSettings>),
        spec(M::PUT, "/org/settings", full(&[Action::UpdateOrgSettings]), put(admin::update_settings))
            .doc("Change the organisation's settings")
            .takes(one::<wire::OrgSettings>)
            .gives(one::<wire::OrgSettings>),
        spec(M::GET, "/org/brand", full(&[Action::ReadOrgSettings]), get(admin::brand::get))
            .doc("How the organisation presents itself: name, colours, logo, support contact, language")
            .gives(one::<haven_protocol::config::Brand>),
        spec(M::PUT, "/org/brand", full(&[Action::UpdateOrgSettings]), put(admin::brand::update))
            .doc("Change the name, colours, support contact and default language; text colours below 4.5:1 contrast are refused")
            .takes(one::<haven_protocol::brand::BrandUpdate>)
            .gives(one::<haven_protocol::config::Brand>),
        spec(
            M::PUT,
            "/org/brand/logo",
            full(&[Action::UpdateOrgSettings]),
            put(admin::brand::upload_logo)
                .layer(DefaultBodyLimit::max(haven_protocol::brand::MAX_LOGO_BYTES)),
        )
        .doc("Set the logo: a PNG, or an inert SVG, of at most 100 KB as the body")
        .gives(one::<haven_protocol::config::Brand>),
        spec(M::DELETE, "/org/brand/logo", full(&[Action::UpdateOrgSettings]), delete(admin::brand::remove_logo))
            .doc("Remove the logo")
            .gives(one::<haven_protocol::config::Brand>),
        spec(M::GET, "/org/quotas", full(&[Action::ReadOrgSettings]), get(delivery::quota::get))
            .doc("What each device, each person and the organisation may store, per day and held")
            .gives(one::<haven_protocol::messaging::Quotas>),
        spec(M::PUT, "/org/quotas", full(&[Action::UpdateOrgSettings]), put(delivery::quota::put))
            .doc("Set the storage quotas (each from 1 MB to 100 TB)")
            .takes(one::<haven_protocol::messaging::Quotas>)
            .gives(one::<haven_protocol::messaging::Quotas>),
        spec(M::GET, "/org/embedding", full(&[Action::ReadOrgSettings]), get(admin::embedding::get))
            .doc("The partner origins allowed to embed the app in an iframe")
            .gives(one::<haven_protocol::brand::Embedding>),
        spec(M::PUT, "/org/embedding", full(&[Action::UpdateOrgSettings]), put(admin::embedding::put))
            .doc("Replace the partner origins allowed to embed the app; an empty list allows none")
            .takes(one::<haven_protocol::brand::Embedding>)
            .gives(one::<haven_protocol::brand::Embedding>),
        spec(M::GET, "/brand/logo/{hash}", Public, get(admin::brand::logo))
            .doc("The logo of the organisation served on this host, by the SHA-256 of its bytes"),
        spec(M::GET, "/patients", full(&[Action::ListAssignedPatients]), get(clinical::my_patients))
            .doc("The clinician's care-team patients")
            .gives(many::<wire::PersonSummary>),
        spec(M::GET, "/patients/{id}", full(&[Action::ReadPatientRecord]), get(clinical::record))
            .doc("A patient's record: care team, or an active emergency access")
            .gives(one::<wire::PatientRecord>),
        spec(M::POST, "/patients/{id}/care-team", full(&[Action::ManageCareTeam]), post(clinical::join_care_team))
            .doc("Bring another clinician of the organisation into the care team of one's patient; they are added to its care-team conversations with the history")
            .takes(one::<wire::JoinCareTeam>)
            .gives(many::<wire::PersonSummary>),
        spec(M::GET, "/clinicians", full(&[Action::ManageCareTeam]), get(clinical::clinicians))
            .doc("The organisation's active clinicians (names only)")
            .gives(many::<wire::PersonSummary>),
        spec(M::POST, "/patients/{id}/break-glass", full(&[Action::BreakGlass]), post(clinical::break_glass))
            .doc("Emergency access to a patient outside the care team, with a reason; time-boxed and shown to the patient and admins")
            .takes(one::<wire::BreakGlassRequest>)
            .gives(one::<wire::BreakGlassGrant>),
        spec(M::POST, "/break-glass/{id}/end", full(&[Action::BreakGlass]), post(clinical::end_break_glass))
            .doc("End one's own emergency access early"),
        spec(M::GET, "/break-glass", full(&[Action::ReadBreakGlassEvents]), get(clinical::all_grants))
            .doc("Every emergency access in the organisation")
            .gives(many::<wire::BreakGlassGrant>),
        spec(M::GET, "/my-activity", full(&[Action::ReadOwnActivity]), get(clinical::my_activity))
            .doc("Who opened my record through emergency access")
            .gives(many::<wire::ActivityEntry>),
        spec(M::GET, "/care-team", full(&[Action::ReadCareTeam]), get(clinical::care_team))
            .doc("The patient's clinicians")
            .gives(many::<wire::PersonSummary>),
        spec(M::POST, "/visits", full(&[Action::ScheduleVisit]), post(visits::schedule))
            .doc("Schedule a video visit of an active patient with a clinician of their care team (clinicians their own, staff anyone's)")
            .takes(one::<haven_protocol::visits::ScheduleVisit>)
            .gives(one::<haven_protocol::visits::VisitSummary>),
        spec(M::GET, "/visits", full(&[Action::ReadOwnVisits, Action::ReadWaitingRoom, Action::ReadSchedule]), get(visits::list))
            .doc("The visits not yet over, soonest first: a patient's own, a clinician's own, or the organisation's schedule for staff")
            .gives(many::<haven_protocol::visits::VisitSummary>),
        spec(M::DELETE, "/visits/{id}", full(&[Action::ScheduleVisit]), delete(visits::cancel))
            .doc("Cancel a visit that has not ended (its clinician, or staff); it leaves the lists"),
        spec(M::GET, "/visits/{id}", full(&[Action::Converse]), get(visits::room::get))
            .doc("A visit's room: for its clinician everyone who came and where they stand, for its patient themselves; the visit's group once they may be in it")
            .gives(one::<haven_protocol::visits::VisitRoom>),
        spec(M::GET, "/visits/{id}/ice", full(&[Action::Converse]), get(visits::ice::get))
            .doc("The ICE servers for the visit's people while it can be taken part in: STUN, and TURN over TLS with credentials that end with the visit (TURN REST API form)")
            .gives(one::<haven_protocol::visits::IceServers>),
        spec(M::POST, "/visits/{id}/room", full(&[Action::Converse]), post(visits::room::open))
            .doc("The visit's clinician opens its end-to-end encrypted group with this device (from ten minutes before the start to the end); from a device not in it, a new group, and whoever was admitted waits again")
            .takes(one::<haven_protocol::visits::VisitDevice>)
            .gives(one::<haven_protocol::visits::VisitRoom>),
        spec(M::POST, "/visits/{id}/wait", full(&[Action::Converse]), post(visits::room::wait))
            .doc("The visit's patient enters the waiting room with this device; refused once declined")
            .takes(one::<haven_protocol::visits::VisitDevice>)
            .gives(one::<haven_protocol::visits::VisitRoom>),
        spec(M::POST, "/visits/{id}/admit", full(&[Action::Converse]), post(visits::room::admit))
            .doc("The visit's clinician admits someone waiting: the device they came with may then be added to the visit's group, and only it")
            .takes(one::<haven_protocol::visits::VisitPerson>)
            .gives(one::<haven_protocol::visits::VisitRoom>),
        spec(M::POST, "/visits/{id}/decline", full(&[Action::Converse]), post(visits::room::decline))
            .doc("The visit's clinician declines someone waiting, or sends out someone admitted; final for the visit")
            .takes(one::<haven_protocol::visits::VisitPerson>)
            .gives(one::<haven_protocol::visits::VisitRoom>),
        spec(M::POST, "/visits/{id}/leave", full(&[Action::Converse]), post(visits::room::leave))
            .doc("Leave a visit (recorded); a patient may wait again later"),
        spec(M::POST, "/visits/{id}/end", full(&[Action::Converse]), post(visits::room::end))
            .doc("The visit's clinician ends it for everyone: its group takes nothing more"),
        spec(M::GET, "/patient-contacts", full(&[Action::ReadPatientContacts]), get(clinical::contacts))
            .doc("Patients' contact details (no clinical content)")
            .gives(many::<wire::ContactCard>),
        spec(M::POST, "/mls/devices/challenge", full(&[Action::Converse]), post(delivery::challenge::issue))
            .doc("A fresh challenge for registering a device: this session may use it once, within two minutes")
            .gives(one::<mls_wire::DeviceChallenge>),
        spec(M::POST, "/mls/devices", full(&[Action::Converse]), post(delivery::directory::register))
            .doc("Register this browser's end-to-end encryption key, signed over a fresh challenge of this session to prove holding it; the answer is its device certificate. At most 10 a day per person, then too_many_requests")
            .takes(one::<mls_wire::RegisterDevice>)
            .gives(one::<mls_wire::RegisteredDevice>),
        spec(M::GET, "/mls/trust", full(&[Action::Converse]), get(delivery::directory::trust_anchor))
            .doc("The key that signs device certificates, and the revoked devices a member could still meet (in a conversation, or with a KeyPackage someone else holds)")
            .gives(one::<mls_wire::TrustAnchor>),
        spec(M::POST, "/mls/devices/{id}/revoke", full(&[Action::Converse]), post(delivery::directory::revoke_own))
            .doc("Retire one of one's own encryption devices: nothing more is delivered to it"),
        spec(M::GET, "/mls/devices/{id}/state-key", full(&[Action::Converse]), get(delivery::directory::state_key))
            .doc("The secret that unlocks one's own device's local store in this browser; its release is recorded once per session and device in 10 minutes")
            .gives(one::<mls_wire::DeviceStateKey>),
        spec(M::GET, "/mls/devices/{id}/key-packages", full(&[Action::Converse]), get(delivery::directory::pool))
            .doc("How many KeyPackages one's device has in the directory")
            .gives(one::<mls_wire::KeyPackagePool>),
        spec(
            M::POST,
            "/mls/devices/{id}/key-packages",
            full(&[Action::Converse]),
            post(delivery::directory::upload).layer(DefaultBodyLimit::max(delivery::directory::MAX_UPLOAD_BYTES)),
        )
        .doc("Publish KeyPackages for one's device; each is checked (signatures, ciphersuite, this device's certificate, a lifetime of at most 28 days that has begun and not ended), and one bad package stores none")
        .takes(one::<mls_wire::UploadKeyPackages>)
        .gives(one::<mls_wire::KeyPackagePool>),
        spec(M::POST, "/mls/key-packages/claim", full(&[Action::Converse]), post(delivery::claims::claim))
            .doc("One KeyPackage for each device of the people named (people one may converse with); each recorded. Per hour one caller receives at most 3 one-time packages of a device (all callers together 8), then its last-resort package, and at most 500 packages in all, then too_many_requests")
            .takes(one::<mls_wire::ClaimKeyPackages>)
            .gives(many::<mls_wire::ClaimedKeyPackage>),
        spec(M::POST, "/conversations", full(&[Action::Converse]), post(delivery::conversations::create))
            .doc("Start an end-to-end encrypted conversation about a patient's care, with one's device as its first member")
            .takes(one::<mls_wire::CreateConversation>)
            .gives(one::<mls_wire::ConversationSummary>),
        spec(M::GET, "/mls/devices/{id}/conversations", full(&[Action::Converse]), get(delivery::conversations::list))
            .doc("The conversations of one's device, with what it has acknowledged (recorded as a read)")
            .gives(many::<mls_wire::ConversationSummary>),
        spec(M::POST, "/conversations/{id}/opened", full(&[Action::Converse]), post(delivery::conversations::opened))
            .doc("Record that one opened a conversation (once per session and conversation in 10 minutes; repeats are answered and not recorded)"),
        spec(
            M::POST,
            "/conversations/{id}/attachments",
            full(&[Action::Converse]),
            post(delivery::attachments::upload)
                .layer(DefaultBodyLimit::max(delivery::attachments::MAX_UPLOAD_BYTES)),
        )
        .doc("Store an attachment encrypted in the browser (its key travels inside the MLS message); members only")
        .takes_raw("application/octet-stream")
        .gives(one::<mls_wire::AttachmentStored>),
        spec(M::GET, "/attachments/{id}", full(&[Action::Converse]), get(delivery::attachments::download))
            .doc("An encrypted attachment, to members of its conversation; recorded")
            .gives_raw("application/octet-stream"),
        spec(M::GET, "/audit/entries", full(&[Action::ReadAudit]), get(audit::api::entries))
            .doc("Search the audit log: actor, patient, action, time range; paginated")
            .query(audit::api::entries_parameters)
            .gives(one::<haven_protocol::audit::AuditPage>),
        spec(M::GET, "/audit/people", full(&[Action::ReadAudit]), get(audit::people::people))
            .doc("The organisation's people by id, for names in the audit views (recorded as a read)")
            .gives(many::<wire::AuditPerson>),
        spec(M::GET, "/audit/head", full(&[Action::ReadAudit]), get(audit::api::head))
            .doc("The newest signed tree head (signed now if entries arrived since the last)")
            .gives(one::<haven_audit_log::SignedTreeHead>),
        spec(M::GET, "/audit/proof/inclusion", full(&[Action::ReadAudit]), get(audit::api::inclusion))
            .doc("Inclusion proof of entry `index` in the tree of `size` entries")
            .query(audit::api::inclusion_parameters)
            .gives(one::<haven_protocol::audit::AuditProof>),
        spec(M::GET, "/audit/proof/consistency", full(&[Action::ReadAudit]), get(audit::api::consistency))
            .doc("Consistency proof between the trees of `from` and `to` entries")
            .query(audit::api::consistency_parameters)
            .gives(one::<haven_protocol::audit::AuditProof>),
        spec(M::GET, "/audit/export", full(&[Action::ReadAudit]), get(audit::api::export))
            .doc("The whole log as JSON Lines with its signed head, for offline verification; recorded")
            .gives_raw("application/jsonl"),
        spec(
            M::POST,
            "/audit/witness-alarm",
            full(&[Action::ReadAudit]),
            post(audit::api::witness_alarm).layer(DefaultBodyLimit::max(audit::api::MAX_WITNESS_ALARM_BYTES)),
        )
        .doc("A witness browser reports that the log does not extend a head it had verified; recorded")
        .takes(one::<haven_audit_log::WitnessAlarmReport>),
    ]
}

/// The table without its handlers, for tests and documentation.
pub fn specs() -> Vec<RouteSpec> {
    table().into_iter().map(|(spec, _)| spec).collect()
}
