# Words every part of the app shares.
starting-securely = Starting securely…
loading = Loading…
cancel = Cancel
confirm = Confirm
save = Save
close = Close
dismiss = Dismiss
actions = Actions
language-label = Language
