# Mensajes: las conversaciones, una conversación con su redactor, e iniciar una.
messages-setting-up = Configurando el cifrado de extremo a extremo en este navegador…
messages-conversations = Conversaciones
messages-none-title = Aún no hay conversaciones.
messages-none-text = Inicie una arriba. Solo las personas de una conversación pueden leerla.
messages-unread = { $count } sin leer
messages-title-care-team = Su equipo de atención
messages-title-unnamed = Conversación

messages-start-patient = Su equipo de atención inicia las conversaciones con usted; aparecerán aquí.
messages-start-with = Nueva conversación con
messages-start-choose = Elija un paciente
messages-start-choose-first = Primero elija un paciente.
messages-start-care-team = Con todo el equipo de atención (los profesionales clínicos que se unan al equipo más adelante se añaden, con el historial)
messages-start-submit = Iniciar conversación

messages-choose = Elija una conversación.
messages-care-team-note = Con todo el equipo de atención: los profesionales clínicos que se unan más adelante se añaden, con el historial.
# $code es el propio código de verificación.
messages-verification = Código de verificación: { $code } — es el mismo para todas las personas de esta conversación. Compárelo cuando se vean o hablen por teléfono.
messages-member-devices = { $count ->
    [one] { $count } dispositivo participante
   *[other] { $count } dispositivos participantes
}
messages-this-browser = (este navegador)
messages-removal-pending = eliminación pendiente
messages-history-pending = El historial aparecerá cuando un dispositivo del equipo de atención esté en línea.
messages-catching-up = Sincronizando…
messages-left = Ya no participa en esta conversación.
messages-unverified = { $count ->
    [one] { $count } mensaje no se pudo verificar y no se muestra.
   *[other] { $count } mensajes no se pudieron verificar y no se muestran.
}
messages-lost = { $count ->
    [one] { $count } mensaje anterior caducó antes de que este dispositivo pudiera recibirlo.
   *[other] { $count } mensajes anteriores caducaron antes de que este dispositivo pudiera recibirlos.
}
messages-missing = { $count ->
    [one] { $count } mensaje que otros de esta conversación enviaron o vieron no llegó a este dispositivo. Puede que el servidor lo haya omitido.
   *[other] { $count } mensajes que otros de esta conversación enviaron o vieron no llegaron a este dispositivo. Puede que el servidor los haya omitido.
}
messages-reordered = { $count ->
    [one] { $count } mensaje llegó en un orden distinto del que se escribió.
   *[other] { $count } mensajes llegaron en un orden distinto del que se escribieron.
}
messages-transcript = Mensajes
messages-deleted = Mensaje eliminado
messages-edited = (editado)
# $name es quien compartió el historial.
messages-shared-by = Del historial que { $name } compartió con este navegador

# Cómo está un mensaje propio.
messages-state-sending = Enviando…
messages-state-sent = Enviado
messages-state-delivered = Entregado
messages-state-read = Leído
messages-state-failed = No enviado
messages-retry = Volver a intentar

messages-edit = Editar
messages-delete = Eliminar
messages-edit-label = Edite su mensaje
messages-edit-empty = Escriba algo o, si lo prefiere, elimine el mensaje.
messages-too-long = Un mensaje puede tener como máximo { $max } caracteres.
messages-delete-title = ¿Eliminar este mensaje?
messages-delete-text = Todas las personas de la conversación verán que se eliminó un mensaje. Sus dispositivos dejarán de mostrar el texto.
messages-delete-confirm = Eliminar mensaje

messages-composer-label = Mensaje
messages-composer-help = Cifrado de extremo a extremo: solo las personas de esta conversación pueden leerlo.
messages-write-first = Primero escriba un mensaje.
messages-send = Enviar
# $max es un tamaño, como «25 MB».
messages-attach = Adjuntar un archivo (hasta { $max })
messages-uploading = Cifrando y enviando el archivo { $percent } %
messages-file-wait = Espere a que termine de enviarse el archivo anterior.
messages-file-empty = Ese archivo está vacío.
# $max y $size son tamaños, como «25 MB».
messages-file-too-large = Los archivos pueden ocupar como máximo { $max }; este ocupa { $size }.
messages-file-name = Primero cambie el nombre del archivo: debe tener entre 1 y { $max } caracteres.
messages-file-unreadable = No se pudo leer el archivo. Vuelva a elegirlo.

messages-show-image = Mostrar imagen
messages-download = Descargar
messages-downloading = Descargando y descifrando { $percent } %
messages-size-bytes = { $count ->
    [one] { $count } byte
   *[other] { $count } bytes
}
messages-size-kb = { $size } KB
messages-size-mb = { $size } MB

# Cifrado de extremo a extremo: su configuración en este navegador y lo que puede fallar.
e2ee-other-tab = La mensajería segura está abierta en otra pestaña de este navegador. Use esa pestaña o ciérrela: entonces esta tomará el relevo.
e2ee-not-ready = La mensajería segura aún no está lista en este navegador.
e2ee-no-patient-device = Este paciente aún no ha configurado la mensajería segura: debe iniciar sesión una vez.
e2ee-device-removed = El dispositivo de cifrado de este navegador se eliminó mientras se configuraba.
e2ee-save-failed = Este navegador no pudo guardar sus mensajes. Libere espacio y vuelva a cargar la página.
e2ee-storage-timeout = El almacenamiento de este navegador no respondió. Vuelva a cargar la página para intentarlo de nuevo.
e2ee-storage-unavailable = Este navegador no ofrece IndexedDB (el modo privado puede desactivarlo).
e2ee-storage-refused = El almacenamiento de este navegador rechazó la solicitud.
e2ee-worker-cannot-start = Este navegador no pudo iniciar el proceso de cifrado.
e2ee-worker-timeout = El proceso de cifrado no respondió. Vuelva a cargar la página para intentarlo de nuevo.
e2ee-worker-encode = No se pudo codificar la solicitud.
e2ee-worker-stopped = El proceso de cifrado se detuvo.
e2ee-worker-garbled = La respuesta del proceso de cifrado llegó dañada.
e2ee-worker-garbled-reload = La respuesta del proceso de cifrado llegó dañada. Vuelva a cargar la página.
e2ee-worker-not-ready = El dispositivo de cifrado no está listo.
e2ee-worker-certificate = No se puede leer el certificado del servidor.
e2ee-worker-seal = No se pudo guardar el estado del cifrado.
e2ee-worker-saved = No se pueden leer las conversaciones guardadas.
e2ee-worker-rolled-back = Las conversaciones guardadas en este navegador son más antiguas que otras desde las que ya envió (restauradas de una copia). Siguen cerradas: usarlas de nuevo debilitaría su cifrado. Quite este navegador de sus dispositivos y vuelva a cargar la página.

# Lo que rechazó la capa de cifrado.
e2ee-fault-certificate = No se pudo verificar el certificado de un dispositivo.
e2ee-fault-revoked = Se revocó un dispositivo de esta conversación.
e2ee-fault-unreadable = No se pudo leer algo que recibió este navegador.
e2ee-fault-out-of-step = La conversación cambió mientras tanto. Vuelva a cargar la página para intentarlo de nuevo.
e2ee-fault-not-a-member = Este navegador ya no participa en la conversación.
e2ee-fault-state = El estado de cifrado guardado en este navegador no coincide.
e2ee-fault-not-mine = El certificado del servidor es para otro dispositivo.
e2ee-fault-internal = Algo falló en el cifrado. Vuelva a cargar la página para intentarlo de nuevo.

# Un cambio en una conversación que no se completó. $reason es una de las frases anteriores.
e2ee-problem-change = No se pudo modificar la conversación. { $reason }
e2ee-problem-history = No se pudo leer el historial compartido con este navegador.
e2ee-problem-earlier = Un cambio en esta conversación no se completó.

# El almacén sellado del dispositivo de este navegador.
e2ee-vault-unavailable = Este navegador no ofrece WebCrypto ni IndexedDB, que la mensajería segura necesita.
e2ee-vault-wrong-secret = La clave del servidor no abre lo que se guarda en este navegador. ¿Había iniciado sesión con otra cuenta?
e2ee-vault-damaged = Algo guardado en este navegador se modificó o se dañó.
e2ee-vault-refused = Este navegador se negó a guardar o a cifrar.

# Archivos cifrados.
e2ee-no-webcrypto = Este navegador no ofrece WebCrypto.
e2ee-no-random = Este navegador no ofrece números aleatorios seguros.
e2ee-encrypt-refused = El navegador se negó a cifrar el archivo.
e2ee-key-refused = El navegador rechazó la clave.
e2ee-file-damaged = El archivo se modificó o se dañó por el camino; no se puede abrir.
e2ee-signed-out = Ha cerrado sesión. Vuelva a iniciar sesión.
e2ee-upload-failed = No se pudo guardar el archivo (HTTP { $status }).
e2ee-file-gone = Este archivo ya no está en el servidor (los archivos se guardan durante un tiempo limitado) o usted ya no participa en esta conversación.
e2ee-download-failed = No se pudo obtener el archivo (HTTP { $status }).
e2ee-image-not-shown = Este archivo no se puede mostrar aquí; descárguelo.
e2ee-image-failed = Este navegador no pudo mostrar la imagen.
e2ee-file-not-saved = Este navegador no pudo guardar el archivo.
