# The care views (patients, clinicians, staff), the account's second factor, the
# refusal screen and the browser checks.

## What each view is for, under its title.
care-lede-care-team = The clinicians looking after you.
care-lede-visits = Your video visits with your care team.
care-lede-messages = End-to-end encrypted conversations with your care team.
care-lede-my-activity = Every time someone outside your care team opened your record, and why.
care-lede-my-patients = The patients in your care, and inviting a new one.
care-lede-waiting-room = Patients who have joined a visit and wait to be admitted.
care-lede-schedule = Upcoming visits across the clinic.
care-lede-patient-contacts = How to reach patients. Clinical details are not shown here.
care-lede-users = Everyone with an account in your organisation: roles and access.
care-lede-invitations = Invite staff by a one-time link, and withdraw invitations not yet used.
care-lede-org-settings = Settings that apply to everyone in your organisation.
care-lede-break-glass-events = Every emergency access to a patient's record, with the reason given.
care-lede-audit = The tamper-evident record of every sign-in, access and change.

## The patient's views.
care-team-empty-title = No clinicians are assigned to you yet.
care-team-empty-text = When your clinic assigns a clinician to you, they appear here.
care-visits-empty-title = You have no visits scheduled.
care-visits-empty-text = When your clinic books a video visit with you, it appears here with a button to join.
care-activity-empty-title = Nobody has opened your record outside your care team.
care-activity-empty-text = If a clinician ever needs emergency access to your record, you will see who, when and why here, and who joins your care team.
care-activity-emergency = Emergency access to your record
# $by: the name of the clinician who brought the other one into the care team.
care-activity-joined = Joined your care team (brought in by { $by })
care-activity-reason-given = Reason given:

## The clinician's views.
care-no-patients-title = No patients are assigned to you yet.
care-no-patients-text = Invite a patient below, or ask an administrator to add you to a care team.
care-waiting-room-empty-title = No one is waiting.
care-waiting-room-empty-text = Patients who join a visit wait here until you admit them.

## A patient's record, as a clinician sees it.
care-back-to-patients = ← My patients
care-record-title = Patient record
care-record-unavailable = This record cannot be shown.
care-team-title = Care team
care-no-team = No care team.
care-bring-clinician = Bring a clinician into the care team
care-choose-clinician = Choose a clinician
care-choose-clinician-first = Choose a clinician first.
care-add-to-team = Add to care team
care-added-to-team = Added to the care team. Their devices join the care-team conversations with the history.
care-outside-team = Outside your care team
care-emergency-title = Emergency access
care-emergency-text = Only in an emergency. Access lasts a limited time, is recorded in the audit log, and the patient and administrators are told.
care-emergency-reason = Reason for emergency access
care-emergency-reason-help = At least 20 characters: what the emergency is and why you need this record.
care-emergency-open = Open with emergency access
care-emergency-granted = Emergency access granted. It is recorded and shown to the patient.
care-emergency-banner = Emergency access: this opening is recorded and shown to the patient and administrators.
care-emergency-end = End emergency access now
care-emergency-ended = Emergency access ended.

## The staff's views.
care-schedule-empty-title = No visits are scheduled.
care-schedule-empty-text = Visits booked for the clinic will be listed here by day.
care-contacts-empty-title = No patients yet.
care-contacts-label = Patients' contact details
care-column-name = Name
care-column-email = Email

## The signed-in person's second factor.
account-protect-title = Protect your account
account-protect-text = Ask for a code from an authenticator app as well as your password when you sign in. It keeps your account safe even if someone learns your password.
account-enrol-start = Set up an authenticator app
account-enrol-scan = Scan this code with your authenticator app, or type the key into it, then enter the code it shows.
account-qr-label = QR code for your authenticator app
account-key = Key:
account-code = Code
account-code-help = The 6-digit code your authenticator app shows now.
account-unexpected-answer = Unexpected answer from the server.

## The screen shown when the app will not start.
refused-title = Haven cannot start safely
refused-protect = To protect your health information, Haven has not connected to anything. If this keeps happening, contact your clinic's support team and tell them what this page says.
refused-detail = Technical detail:
# $scheme: the page's scheme ("http", …), or "unknown".
refused-insecure-page = { $scheme ->
        [unknown] This page was not loaded over a secure connection. Open Haven from its https:// address.
       *[other] This page was not loaded over a secure connection (it uses { $scheme }:). Open Haven from its https:// address.
    }
# $problem: one of the refused-config-… sentences below.
refused-config = The server's configuration is not safe to use. { $problem }
# $field: the setting's name in the configuration (api_origin, ws_url).
refused-config-endpoint = The setting { $field } does not hold a valid secure address (https:// or wss://).
refused-config-brand-name = The organisation's name must be 1 to { $max } characters, without control characters.
refused-config-brand-colour = A brand colour is not written as #rrggbb.
refused-config-brand-support = The support contact must be at most { $max } characters, without control characters.
refused-config-brand-logo = The logo address is not one the server gives out.
refused-config-embed-origins = The partner sites allowed to embed the app are not plain https:// origins.
refused-config-idle-timeout = The inactivity timeout must be between { $min } and { $max } seconds.
# $problem: why the request failed.
refused-network = Haven could not load its configuration: { $problem }

## What this browser can do, on the sign-in page.
capability-secure-storage = Encrypted storage for messages
capability-secure-storage-missing = This browser cannot keep encrypted messages (it lacks IndexedDB or WebCrypto). Use a current version of Chrome, Edge, Firefox or Safari.
capability-video-visits = Video visits
capability-video-visits-missing = Video visits are not available in this browser: it does not support WebRTC. Use a current version of Chrome, Edge, Firefox or Safari to join a visit.
