# Messages: the conversations, one conversation with its composer, and starting one.
messages-setting-up = Setting up end-to-end encryption on this browser…
messages-conversations = Conversations
messages-none-title = No conversations yet.
messages-none-text = Start one above. Only the people in a conversation can read it.
messages-unread = { $count } unread
messages-title-care-team = Your care team
messages-title-unnamed = Conversation

messages-start-patient = Your care team starts conversations with you; they appear here.
messages-start-with = New conversation with
messages-start-choose = Choose a patient
messages-start-choose-first = Choose a patient first.
messages-start-care-team = With the whole care team (clinicians who join the team later are added, with the history)
messages-start-submit = Start conversation

messages-choose = Choose a conversation.
messages-care-team-note = With the whole care team: clinicians who join it later are added, with the history.
# $code is the verification code itself.
messages-verification = Verification code: { $code } — the same for everyone in this conversation. Compare it when you meet or call.
messages-member-devices = { $count ->
    [one] { $count } member device
   *[other] { $count } member devices
}
messages-this-browser = (this browser)
messages-removal-pending = removal pending
messages-history-pending = History will appear when a care-team device is online.
messages-catching-up = Catching up…
messages-left = You are no longer a member of this conversation.
messages-unverified = { $count ->
    [one] { $count } message could not be verified and is not shown.
   *[other] { $count } messages could not be verified and are not shown.
}
messages-lost = { $count ->
    [one] { $count } older message expired before this device could receive it.
   *[other] { $count } older messages expired before this device could receive them.
}
messages-missing = { $count ->
    [one] { $count } message that others in this conversation sent or saw never reached this device. The server may have left it out.
   *[other] { $count } messages that others in this conversation sent or saw never reached this device. The server may have left them out.
}
messages-reordered = { $count ->
    [one] { $count } message arrived in a different order than it was written in.
   *[other] { $count } messages arrived in a different order than they were written in.
}
messages-transcript = Messages
messages-deleted = Message deleted
messages-edited = (edited)
# $name is the member who handed the history over.
messages-shared-by = From the history { $name } shared with this browser

# How one's own message stands.
messages-state-sending = Sending…
messages-state-sent = Sent
messages-state-delivered = Delivered
messages-state-read = Read
messages-state-failed = Not sent
messages-retry = Try again

messages-edit = Edit
messages-delete = Delete
messages-edit-label = Edit your message
messages-edit-empty = Write something, or delete the message instead.
messages-too-long = A message can be at most { $max } characters.
messages-delete-title = Delete this message?
messages-delete-text = Everyone in the conversation will see that a message was deleted. Their devices stop showing its text.
messages-delete-confirm = Delete message

messages-composer-label = Message
messages-composer-help = End-to-end encrypted: only the people in this conversation can read it.
messages-write-first = Write a message first.
messages-send = Send
# $max is a size, such as "25 MB".
messages-attach = Attach a file (up to { $max })
messages-uploading = Encrypting and sending the file { $percent }%
messages-file-wait = Wait for the file being sent first.
messages-file-empty = That file is empty.
# $max and $size are sizes, such as "25 MB".
messages-file-too-large = Files can be at most { $max }; this one is { $size }.
messages-file-name = Rename the file first: its name must be 1 to { $max } characters.
messages-file-unreadable = The file could not be read. Choose it again.

messages-show-image = Show image
messages-download = Download
messages-downloading = Downloading and decrypting { $percent }%
messages-size-bytes = { $count ->
    [one] { $count } byte
   *[other] { $count } bytes
}
messages-size-kb = { $size } KB
messages-size-mb = { $size } MB

# End-to-end encryption: setting it up on this browser, and what can go wrong.
e2ee-other-tab = Secure messaging is open in another tab of this browser. Use that tab, or close it: this one takes over then.
e2ee-not-ready = Secure messaging is not ready on this browser yet.
e2ee-no-patient-device = This patient has not set up secure messaging yet: they need to sign in once.
e2ee-device-removed = This browser's encryption device was removed while it was being set up.
e2ee-save-failed = This browser could not save your messages. Free some space, then reload the page.
e2ee-storage-timeout = This browser's storage did not answer. Reload the page to try again.
e2ee-storage-unavailable = This browser offers no IndexedDB (private mode may turn it off).
e2ee-storage-refused = This browser's storage refused the request.
e2ee-worker-cannot-start = This browser could not start the encryption worker.
e2ee-worker-timeout = The encryption worker did not answer. Reload the page to try again.
e2ee-worker-encode = The request could not be encoded.
e2ee-worker-stopped = The encryption worker stopped.
e2ee-worker-garbled = The encryption worker's answer was garbled.
e2ee-worker-garbled-reload = The encryption worker's answer was garbled. Reload the page.
e2ee-worker-not-ready = The encryption device is not ready.
e2ee-worker-certificate = The server's certificate cannot be read.
e2ee-worker-seal = The encryption state could not be saved.
e2ee-worker-saved = The saved conversations cannot be read.
e2ee-worker-rolled-back = The conversations saved in this browser are older than ones it already sent from (put back from a copy). They stay closed: using them again would weaken their encryption. Remove this browser from your devices, then reload.

# What the encryption layer refused.
e2ee-fault-certificate = A device's certificate could not be verified.
e2ee-fault-revoked = A device in this conversation has been revoked.
e2ee-fault-unreadable = Something this browser received could not be read.
e2ee-fault-out-of-step = The conversation changed meanwhile. Reload the page to try again.
e2ee-fault-not-a-member = This browser is no longer a member of the conversation.
e2ee-fault-state = The encryption state kept in this browser does not match.
e2ee-fault-not-mine = The server's certificate is for another device.
e2ee-fault-internal = Something went wrong in the encryption. Reload the page to try again.

# A change to a conversation that did not go through. $reason is one of the sentences above.
e2ee-problem-change = The conversation could not be changed. { $reason }
e2ee-problem-history = The history shared with this browser could not be read.
e2ee-problem-earlier = A change to this conversation did not go through.

# The sealed store of this browser's device.
e2ee-vault-unavailable = This browser offers no WebCrypto or IndexedDB, which secure messaging needs.
e2ee-vault-wrong-secret = The key from the server does not open what is kept in this browser. Were you signed in as someone else?
e2ee-vault-damaged = Something kept in this browser was changed or damaged.
e2ee-vault-refused = This browser refused to store or encrypt.

# Encrypted files.
e2ee-no-webcrypto = This browser offers no WebCrypto.
e2ee-no-random = This browser offers no secure random numbers.
e2ee-encrypt-refused = The browser refused to encrypt the file.
e2ee-key-refused = The browser refused the key.
e2ee-file-damaged = The file was changed or damaged on its way; it cannot be opened.
e2ee-signed-out = You are signed out. Sign in again.
e2ee-upload-failed = The file could not be stored (HTTP { $status }).
e2ee-file-gone = This file is no longer on the server (files are kept for a limited time), or you are no longer in this conversation.
e2ee-download-failed = The file could not be fetched (HTTP { $status }).
e2ee-image-not-shown = This file cannot be shown here; download it instead.
e2ee-image-failed = This browser could not show the image.
e2ee-file-not-saved = This browser could not save the file.
