# The auditor's view of the audit log, and the browser's witness of it.

## The log's table, its filters and an entry
audit-column-index = #
audit-column-time = Time (UTC)
audit-column-action = Action
audit-column-who = Who
audit-column-target = Target
audit-column-outcome = Outcome
audit-field-patient = Patient
audit-field-detail = Detail
audit-field-source = From
audit-entries-label = Audit log entries
audit-no-entries = No entries match this search.
audit-show-entry = Show entry { $index }
audit-show-more = Show more
audit-entry-title = Entry #{ $index }
audit-entry-recorded = The entry as recorded
audit-nobody = Nobody signed in
audit-no-name = No name is known for this id
audit-outcome-success = Success
audit-outcome-failure = Failure
audit-search-label = Search the log
audit-search = Search
audit-clear = Clear
audit-any-action = Any action
audit-anyone = Anyone
audit-any-patient = Any patient
audit-names-unavailable = Names are not available: type an id.
audit-filter-patient = Patient concerned
audit-filter-conversation = Conversation
audit-filter-conversation-help = Its id, as an entry's target shows it: conversation:…
audit-filter-from = From
audit-filter-to = To

## What a target is
audit-target-user = User
audit-target-patient = Patient
audit-target-invitation = Invitation
audit-target-grant = Emergency access
audit-target-list = List

## Roles

## Verifying the whole log in the browser
audit-verify-intro = Verification checks every entry against the server's signed tree head, here in your browser.
audit-verify = Verify the log
audit-verifying = Verifying…
audit-download-export = Download export
audit-verify-failed = Could not verify: { $error }
audit-verdict-intact =
    Intact: { $entries ->
        [one] { $entries } entry
       *[other] { $entries } entries
    }, matching the tree head signed for { $signed ->
        [one] { $signed } entry
       *[other] { $signed } entries
    }.
audit-verdict-broken-at = NOT intact: the first bad entry is #{ $index }: { $reason }.
audit-verdict-broken = NOT intact: { $reason }.
# Why the log is not intact: clauses of the sentences above.
audit-reason-empty = the export is empty
audit-reason-no-head = the export does not start with a signed tree head
audit-reason-head-malformed = the tree head is malformed
audit-reason-head-wrong-key = the tree head was signed by a key other than the one trusted
audit-reason-head-wrong-organisation = the tree head is of another organisation than the one expected
audit-reason-head-bad-signature = the tree head's signature is not valid
audit-reason-not-an-entry = this line is not a valid entry
audit-reason-out-of-order = it is missing or out of order (found #{ $found } in its place)
audit-reason-other-organisation = it belongs to another organisation
audit-reason-inserted = it is not covered by the signed tree head (inserted)
audit-reason-stored-otherwise = it is stored in a form that is not an entry
audit-reason-changed = its content does not match its hash in the tree (changed)
audit-reason-no-hash = the tree has no hash for it
audit-reason-missing = it is missing (the signed head covers more entries)
audit-reason-root-mismatch = the entries do not produce the signed root { $root } (the tree itself was rewritten)

## The witness
audit-witness-checking = Checking the log against the head this browser verified before…
audit-witness-first =
    { $size ->
        [one] This browser now keeps the signed head of { $size } entry as a witness: any later rewrite of it will be caught here.
       *[other] This browser now keeps the signed head of { $size } entries as a witness: any later rewrite of them will be caught here.
    }
audit-witness-passed =
    { $size ->
        [one] Witness check passed: the log of { $size } entry extends every head this browser verified.
       *[other] Witness check passed: the log of { $size } entries extends every head this browser verified.
    }
audit-witness-alarm-title = Audit log alarm
audit-witness-alarm-text =
    The audit log does not extend the head this browser verified. Kept head: { $kept ->
        [one] { $kept } entry
       *[other] { $kept } entries
    }; the server now shows { $newer ->
        [one] { $newer } entry
       *[other] { $newer } entries
    }; { $finding }.
# Why the log does not extend the kept head: the last clause of the alarm.
audit-finding-not-extended = the consistency proof between them does not hold: history was rewritten
audit-finding-no-proof = the server cannot prove that its log extends the kept head
audit-finding-forked = they have the same size but different roots: history was rewritten
audit-finding-shrunk = the log now has fewer entries: entries were removed
audit-finding-other-key = the newer head is signed by another key
audit-finding-other-organisation = the newer head is of another organisation
audit-finding-bad-signature = the newer head's signature is not valid
audit-witness-reported-before = This alarm was already reported to the audit log.
audit-witness-reported = It has been reported to the audit log.
audit-witness-not-reported = It could not be reported to the server: tell your security officer.
audit-witness-head-failed = Could not fetch the signed tree head: { $error }
audit-witness-store-failed = This browser cannot witness the log: { $error }
audit-witness-proof-failed = Could not fetch the consistency proof: { $error }
audit-witness-keep-failed = Could not keep the verified head: { $error }
audit-witness-untrusted = The server's tree head does not verify with its own key; nothing was kept.
audit-witness-unfinished = The witness check did not finish.
audit-store-unavailable = this browser offers no IndexedDB (private mode may turn it off)
audit-store-refused = the browser's IndexedDB refused the request

## Actions, as the log records them
audit-action-sign-in = Sign in
audit-action-sign-in-failed = Sign in failed
audit-action-sign-in-throttled = Sign in throttled
audit-action-second-factor-failed = Second factor failed
audit-action-second-factor-enrolled = Second factor enrolled
audit-action-sign-out = Sign out
audit-action-auto-logoff = Auto logoff
audit-action-session-expired = Session expired
audit-action-session-ended = Session ended
audit-action-invitation-created = Invitation created
audit-action-invitation-accepted = Invitation accepted
audit-action-invitation-revoked = Invitation revoked
audit-action-invitation-refused = Invitation refused
audit-action-role-changed = Role changed
audit-action-account-deactivated = Account deactivated
audit-action-settings-changed = Settings changed
audit-action-embedding-changed = Embedding changed
audit-action-brand-changed = Brand changed
audit-action-break-glass-granted = Break glass granted
audit-action-break-glass-ended = Break glass ended
audit-action-care-team-joined = Care team joined
audit-action-record-opened = Record opened
audit-action-patient-list-read = Patient list read
audit-action-audit-exported = Audit exported
audit-action-witness-alarm = Witness alarm
audit-action-device-registered = Device registered
audit-action-device-revoked = Device revoked
audit-action-device-state-key-released = Device state key released
audit-action-key-package-claimed = KeyPackage claimed
audit-action-conversation-created = Conversation created
audit-action-conversation-opened = Conversation opened
audit-action-message-sent = Message sent
audit-action-message-delivered = Message delivered
audit-action-message-read = Message read
audit-action-member-added = Member added
audit-action-member-removed = Member removed
audit-action-attachment-uploaded = Attachment uploaded
audit-action-attachment-downloaded = Attachment downloaded
audit-action-quota-exceeded = Storage quota reached
audit-action-visit-scheduled = Visit scheduled
audit-action-visit-cancelled = Visit cancelled
audit-action-visit-created = Visit opened
audit-action-visit-waiting = Entered the waiting room
audit-action-visit-admitted = Admitted to a visit
audit-action-visit-declined = Declined from a visit
audit-action-visit-left = Left a visit
audit-action-visit-ended = Visit ended

## What each action means
audit-about-sign-in = Someone signed in (password and, where enrolled, a second factor).
audit-about-sign-in-failed = A sign-in was refused: wrong password, unknown or inactive account.
audit-about-sign-in-throttled = Sign-in attempts refused by the rate limit in one window, recorded once with their count.
audit-about-second-factor-failed = A second-factor code was refused.
audit-about-second-factor-enrolled = An authenticator app was set up (first time, or replacing one with the current code).
audit-about-sign-out = Someone signed out.
audit-about-auto-logoff = The app signed someone out after the idle time.
audit-about-session-expired = A session ended by itself: idle time or absolute lifetime.
audit-about-session-ended = A session was ended by someone else's action (deactivation, role change, a factor replaced).
audit-about-invitation-created = An invitation link was made.
audit-about-invitation-accepted = An invitation was used to set up an account.
audit-about-invitation-revoked = An open invitation was withdrawn (by an admin, or because its sender lost the authority to send it).
audit-about-invitation-refused = An invitation was refused because its sender no longer may invite that role.
audit-about-role-changed = An administrator changed someone's role.
audit-about-account-deactivated = An administrator deactivated an account.
audit-about-settings-changed = An administrator changed the organisation's settings.
audit-about-embedding-changed = An administrator changed which partner origins may embed the app (the new list).
audit-about-brand-changed = An administrator changed how the organisation presents itself (which of name, colours, support contact, language, logo).
audit-about-break-glass-granted = A clinician opened emergency access to a patient outside their care team.
audit-about-break-glass-ended = Emergency access ended (ended early by the clinician, or run out).
audit-about-care-team-joined = A clinician was brought into a patient's care team (by whom, whom).
audit-about-record-opened = A patient's record was read.
audit-about-patient-list-read = A list holding patients' details was read (which list, how many records).
audit-about-audit-exported = The audit log was exported.
audit-about-witness-alarm = A browser that had verified an older tree head found the log does not extend it.
audit-about-device-registered = A browser registered an end-to-end encryption device and the server certified its key.
audit-about-device-revoked = An end-to-end encryption device was revoked (by its owner, or because the account was deactivated or changed role); nothing more is delivered to it.
audit-about-device-state-key-released = The secret that unlocks a device's local store was released to its owner's session (recorded once per session and device in 10 minutes).
audit-about-key-package-claimed = A KeyPackage of a device was handed out so that the device can be added to a conversation (which device, one-time or last-resort; never the package).
audit-about-conversation-created = An end-to-end encrypted conversation about a patient's care was started.
audit-about-conversation-opened = Someone opened a conversation in the app (recorded once per session and conversation in 10 minutes).
audit-about-message-sent = An encrypted message or change of members was accepted into a conversation (ids and sizes, never content).
audit-about-message-delivered = A device acknowledged messages of a conversation (which sequence numbers).
audit-about-message-read = Someone read a conversation on a device, up to which sequence number (reported by their device).
audit-about-member-added = A device was added to a conversation.
audit-about-member-removed = A device was removed from a conversation.
audit-about-attachment-uploaded = An encrypted attachment was stored for a conversation (id and size).
audit-about-attachment-downloaded = An encrypted attachment was fetched by a member of its conversation (id and size).
audit-about-quota-exceeded = A message or attachment was refused because a storage quota was used up.
audit-about-visit-scheduled = A video visit was scheduled: patient, clinician, start and length.
audit-about-visit-cancelled = A scheduled video visit was cancelled before it ended.
audit-about-visit-created = The clinician's device opened the visit's end-to-end encrypted group.
audit-about-visit-waiting = Someone entered the visit's waiting room with one of their devices.
audit-about-visit-admitted = The clinician admitted someone from the waiting room: only then may their device receive the visit's keys.
audit-about-visit-declined = The clinician declined someone in the waiting room, or sent them out of the visit.
audit-about-visit-left = Someone left the visit.
audit-about-visit-ended = The clinician ended the visit for everyone: nothing more is sent in its group.
