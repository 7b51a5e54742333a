# The administrator's views: users, invitations, emergency access, organisation settings
# and brand.

## Column headings (also each cell's label when a row becomes a card)
admin-column-name = Name
admin-column-email = Email
admin-column-role = Role
admin-column-invited-by = Invited by
admin-column-expires = Expires
admin-column-status = Status

## Invitations
admin-open-invitations-title = Open invitations
admin-invitations-empty-title = No open invitations.
admin-invitations-empty-text = Invitations not yet used appear here until they are used, withdrawn or expire.
admin-withdraw = Withdraw
admin-withdraw-title = Withdraw the invitation to { $name }?
admin-withdraw-message = The link stops working at once. You can invite them again later.
admin-withdraw-confirm = Withdraw invitation
admin-withdrawn = The invitation to { $name } is withdrawn.

## The invitation form (administrators invite staff, clinicians invite patients)
admin-invite-title = Invite someone
admin-invite-patient-title = Invite a patient
admin-invite-role-label = Role
admin-invite-role-help = What they may see and do. Staff roles set up an authenticator app at first sign-in.
admin-invite-name-label = Name
admin-invite-name-help = As it should appear to others in the clinic.
admin-invite-email-label = Email address
admin-invite-create = Create invitation link
admin-invite-created = Invitation created. Send the link to the person you invited.
admin-invite-link-notice = Send this one-time link to them (valid 72 hours). Anyone with the link can set up the account, so send it only to them.

## Emergency access
admin-break-glass-empty-title = No emergency access has been used.
admin-break-glass-empty-text = When a clinician opens a record outside their care team, it is listed here with their reason.
# The names are shown in bold where the variables are.
admin-break-glass-opened = { $clinician } opened the record of { $patient }
admin-break-glass-until = { $granted } · until { $expires }
admin-break-glass-ended = { $granted } · ended { $expires }
# Followed by the reason the clinician typed.
admin-break-glass-reason = Reason:

## Users
admin-users-title = Users
admin-users-empty-title = No users yet.
admin-you = You
admin-role-of = Role of { $name }
admin-status-active = Active
admin-status-deactivated = Deactivated
admin-status-no-second-factor = No second factor
admin-deactivate = Deactivate
# $from and $to are role names.
admin-change-role-title = Change { $name }'s role?
admin-change-role-message = From { $from } to { $to }. They are signed out everywhere at once and see the { $to } views when they sign in again. Invitations they sent that the new role may not send are withdrawn.
admin-change-role-confirm = Change role
admin-role-changed = { $name } is now { $role }. Their sessions have ended.
admin-deactivate-title = Deactivate { $name }?
admin-deactivate-message = They are signed out everywhere at once and can no longer sign in. Their history stays in the audit log.
admin-deactivate-confirm = Deactivate account
admin-deactivated = { $name }'s account is deactivated; their sessions have ended.

## Automatic sign-out
admin-idle-title = Automatic sign-out
admin-idle-loading = Loading the current setting…
# $duration is written with admin-duration-* below.
admin-idle-now = Now: after { $duration } without activity. A warning shows a minute before.
admin-idle-label = Idle time before automatic sign-out (seconds)
admin-idle-help = For example 900 for 15 minutes. New sessions use it at once.
admin-idle-invalid = Enter a whole number of seconds from { $min } to { $max }.
admin-idle-saved = Saved. People are signed out after { $duration } without activity.
admin-quota-title = Storage quotas
admin-quota-help = What messages and attachments may take, in megabytes: per day, and held at once (everything is kept 30 days at most). Past a quota, sending is refused until there is room again.
admin-quota-device-day = Each device, per day (MB)
admin-quota-device-held = Each device, held (MB)
admin-quota-person-day = Each person, per day (MB)
admin-quota-person-held = Each person, held (MB)
admin-quota-org-day = The whole organisation, per day (MB)
admin-quota-org-held = The whole organisation, held (MB)
admin-quota-invalid = Enter a whole number of megabytes from { $min } to { $max }.
admin-quota-saved = Storage quotas saved.
# Parts of a duration, joined by spaces: "1 hour 30 minutes".
admin-duration-hours = { $count ->
    [one] { $count } hour
   *[other] { $count } hours
}
admin-duration-minutes = { $count ->
    [one] { $count } minute
   *[other] { $count } minutes
}
admin-duration-seconds = { $count ->
    [one] { $count } second
   *[other] { $count } seconds
}

## Brand
admin-brand-title = Brand
admin-brand-intro = How the app presents your organisation to patients and staff.
admin-brand-name-label = Name
admin-brand-support-label = Support contact
admin-brand-support-help = How patients reach you for help: an address, a phone number. Leave empty for none.
admin-brand-language-label = Default language
admin-brand-colours = Colours
admin-brand-preview = Preview
admin-brand-preview-muted = Secondary text, such as the time of a message.
admin-brand-preview-link = A link
admin-brand-preview-button = A button
admin-brand-contrast-error = Some text would be too faint to read. Choose darker text or lighter backgrounds to save.
admin-brand-save = Save brand
admin-brand-saved = Saved. Everyone sees the new brand the next time the app loads.
# What the form calls each colour.
admin-colour-primary = Buttons and links
admin-colour-on-primary = Text on buttons
admin-colour-page = Page background
admin-colour-surface = Cards and panels
admin-colour-text = Text
admin-colour-text-muted = Secondary text
# Each pair of colours whose contrast is checked, as $pair in admin-contrast-*.
admin-pair-text-page = text on the page background
admin-pair-text-surface = text on cards and panels
admin-pair-text-muted-page = secondary text on the page background
admin-pair-text-muted-surface = secondary text on cards and panels
admin-pair-on-primary-primary = text on buttons
admin-pair-primary-surface = links on cards and panels
# A pair the app has no name for: $foreground and $background are colour names.
admin-pair-other = { $foreground } on { $background }
# $ratio is the contrast, $min the least that may be saved (both as in 4.5:1).
admin-contrast-readable = Readable: { $pair }: { $ratio }:1
admin-contrast-too-faint = Too faint: { $pair }: { $ratio }:1 (needs { $min }:1)

admin-brand-logo-label = Logo
admin-brand-logo-help = A PNG or SVG file of at most { $kb } KB. It replaces the first letter of the name beside it.
admin-brand-logo-current = The current logo
admin-brand-logo-remove = Remove logo
admin-brand-logo-saved = Logo saved.
admin-brand-logo-removed = Logo removed.
admin-brand-logo-type = Choose a PNG or SVG file.
admin-brand-logo-size = The file is larger than { $kb } KB.
admin-brand-logo-unreadable = This browser could not read the file.
