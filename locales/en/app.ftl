# The frame of the app: signing in and out, the navigation, the link, roles and views.
sign-in-title = Sign in
sign-in-email = Email address
sign-in-password = Password
sign-in-password-missing = Enter your password.
sign-in-submit = Sign in
sign-in-join-title = Set up your account
sign-in-choose-password = Choose a password
sign-in-choose-password-help = At least 12 characters. A few unrelated words make a strong one.
sign-in-create-account = Create account
sign-in-code = Code
sign-in-code-help = The 6-digit code your authenticator app shows now.
sign-in-code-title = Enter your code
sign-in-code-text = Open your authenticator app to see the code for this account.
sign-in-continue = Continue
sign-in-enrol-title = Set up your authenticator app
sign-in-enrol-text = Your role requires a second factor. Scan this code with an authenticator app, or type the key below, then enter the code it shows.
sign-in-key = Key:
sign-in-unexpected = Unexpected answer from the server. Please start again.

signed-out-by-user = You have signed out.
signed-out-inactivity = You were signed out after inactivity.
signed-out-deactivated = Your account was deactivated by an administrator.
signed-out-role-changed = Your role changed. Please sign in again.
signed-out-elsewhere = You signed out in another window.
signed-out-factor-changed = Your second factor was changed. Please sign in again.
signed-out-device-revoked = The encryption device of this browser was removed. Please sign in again.
signed-out-ended = Your session ended. Please sign in again.

welcome-to = Welcome to { $name }
welcome-encrypted = Your connection to this service is encrypted.
this-browser = This browser
capability-available = Available

idle-title = Still there?
idle-text = { $seconds ->
    [one] You will be signed out in { $seconds } second because of inactivity.
   *[other] You will be signed out in { $seconds } seconds because of inactivity.
}
idle-stay = Stay signed in

not-permitted-title = Not permitted
not-permitted-text = Your role does not include this page. Choose one of your pages from the menu.
not-found-title = Page not found
not-found-text = There is no page at this address. Choose one of your pages from the menu.

skip-to-content = Skip to content
nav-main = Main
sign-out = Sign out

link-connecting = Connecting securely…
link-open = Connected securely
link-reconnecting = Connection lost. Reconnecting…

role-patient = Patient
role-clinician = Clinician
role-staff = Staff
role-admin = Administrator
role-auditor = Auditor

view-care-team = Care team
view-visits = Visits
view-messages = Messages
view-my-activity = My activity
view-my-patients = My patients
view-waiting-room = Waiting room
view-schedule = Scheduling
view-patient-contacts = Patient contacts
view-users = Users
view-invitations = Invitations
view-org-settings = Organisation settings
view-break-glass-events = Emergency access
view-audit = Audit log
