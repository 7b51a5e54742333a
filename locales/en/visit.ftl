# The visit module: the visit list, the check before a visit, the waiting room, the call.
visit-join = Join
visit-open = Open the visit
visit-not-yet = Opens 10 minutes before it starts
visit-minutes = { $minutes ->
    [one] 1 minute
   *[other] { $minutes } minutes
  }
visit-back = Back to the visits
visit-check-title = Before you join
visit-preview = Your camera
visit-check-webrtc-ok = This browser can make video calls.
visit-check-webrtc-failed = This browser cannot make video calls. Open this visit in a current Chrome, Edge, Firefox or Safari. Your messages still work here.
visit-check-secure-ok = Secure messaging is ready on this device.
visit-check-secure-failed = Secure messaging is not ready on this device yet. Wait a moment, or open Messages once, then come back.
visit-check-camera-ok = Your camera and microphone work.
visit-check-camera-failed = Haven could not use your camera or microphone. Allow them for this site in your browser's settings, then try again.
visit-continue = Continue
visit-waiting = You are in the waiting room. { $name } will let you in.
visit-declined = The clinician could not see you in this visit. Contact your clinic to arrange another time.
visit-ended = This visit has ended.
visit-nobody-waiting = No one is waiting yet.
visit-waiting-since = Waiting since { $time }
visit-admit = Admit
visit-decline = Decline
visit-you = You
visit-code = Verification code: { $code }. Everyone in the visit sees the same code.
visit-connecting = Connecting…
visit-connected = Connected, encrypted end to end
visit-refused-fingerprint = The call with { $name } was stopped: the video did not come from their device.
visit-refused-other = A message of the call from { $name } was refused.
visit-mute = Mute
visit-unmute = Unmute
visit-camera-off = Turn camera off
visit-camera-on = Turn camera on
visit-leave = Leave the visit
visit-end = End the visit for everyone
visit-quality-good = Connection: good
visit-quality-fair = Connection: fair
visit-quality-poor = Connection: poor
