# El módulo de videoconsultas: la lista, la comprobación previa, la sala de espera, la llamada.
visit-join = Unirse
visit-open = Abrir la consulta
visit-not-yet = Se abre 10 minutos antes de empezar
visit-minutes = { $minutes ->
    [one] 1 minuto
   *[other] { $minutes } minutos
  }
visit-back = Volver a las consultas
visit-check-title = Antes de unirse
visit-preview = Su cámara
visit-check-webrtc-ok = Este navegador puede hacer videollamadas.
visit-check-webrtc-failed = Este navegador no puede hacer videollamadas. Abra esta consulta en una versión actual de Chrome, Edge, Firefox o Safari. Sus mensajes siguen funcionando aquí.
visit-check-secure-ok = La mensajería segura está lista en este dispositivo.
visit-check-secure-failed = La mensajería segura aún no está lista en este dispositivo. Espere un momento, o abra Mensajes una vez y vuelva.
visit-check-camera-ok = Su cámara y su micrófono funcionan.
visit-check-camera-failed = Haven no pudo usar su cámara o su micrófono. Permítalos para este sitio en la configuración del navegador y vuelva a intentarlo.
visit-continue = Continuar
visit-waiting = Está en la sala de espera. { $name } le dará paso.
visit-declined = El profesional no pudo atenderle en esta consulta. Contacte con su clínica para acordar otra hora.
visit-ended = Esta consulta ha terminado.
visit-nobody-waiting = Todavía no hay nadie esperando.
visit-waiting-since = Esperando desde { $time }
visit-admit = Admitir
visit-decline = Rechazar
visit-you = Usted
visit-code = Código de verificación: { $code }. Todos en la consulta ven el mismo código.
visit-connecting = Conectando…
visit-connected = Conectado, cifrado de extremo a extremo
visit-refused-fingerprint = Se detuvo la llamada con { $name }: el vídeo no venía de su dispositivo.
visit-refused-other = Se rechazó un mensaje de la llamada de { $name }.
visit-mute = Silenciar
visit-unmute = Activar sonido
visit-camera-off = Apagar la cámara
visit-camera-on = Encender la cámara
visit-leave = Salir de la consulta
visit-end = Terminar la consulta para todos
visit-quality-good = Conexión: buena
visit-quality-fair = Conexión: regular
visit-quality-poor = Conexión: mala
