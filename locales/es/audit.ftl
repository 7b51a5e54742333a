# La vista del registro de auditoría para el auditor, y el navegador como testigo.

## La tabla del registro, sus filtros y una entrada
audit-column-index = N.º
audit-column-time = Hora (UTC)
audit-column-action = Acción
audit-column-who = Quién
audit-column-target = Objeto
audit-column-outcome = Resultado
audit-field-patient = Paciente
audit-field-detail = Detalle
audit-field-source = Origen
audit-entries-label = Entradas del registro de auditoría
audit-no-entries = Ninguna entrada coincide con esta búsqueda.
audit-show-entry = Ver la entrada { $index }
audit-show-more = Ver más
audit-entry-title = Entrada n.º { $index }
audit-entry-recorded = La entrada tal como se registró
audit-nobody = Nadie había iniciado sesión
audit-no-name = No se conoce ningún nombre para este identificador
audit-outcome-success = Correcto
audit-outcome-failure = Fallido
audit-search-label = Buscar en el registro
audit-search = Buscar
audit-clear = Borrar filtros
audit-any-action = Cualquier acción
audit-anyone = Cualquier persona
audit-any-patient = Cualquier paciente
audit-names-unavailable = Los nombres no están disponibles: escriba un identificador.
audit-filter-patient = Paciente afectado
audit-filter-conversation = Conversación
audit-filter-conversation-help = Su identificador, tal como aparece en el objeto de una entrada: conversation:…
audit-filter-from = Desde
audit-filter-to = Hasta

## Qué es un objeto
audit-target-user = Usuario
audit-target-patient = Paciente
audit-target-invitation = Invitación
audit-target-grant = Acceso de emergencia
audit-target-list = Lista

## Roles

## Verificar todo el registro en el navegador
audit-verify-intro = La verificación comprueba cada entrada con la cabecera firmada del árbol del servidor, aquí mismo, en su navegador.
audit-verify = Verificar el registro
audit-verifying = Verificando…
audit-download-export = Descargar la exportación
audit-verify-failed = No se pudo verificar: { $error }
audit-verdict-intact =
    Íntegro: { $entries ->
        [one] { $entries } entrada
       *[other] { $entries } entradas
    }, que coinciden con la cabecera del árbol firmada para { $signed ->
        [one] { $signed } entrada
       *[other] { $signed } entradas
    }.
audit-verdict-broken-at = NO íntegro: la primera entrada incorrecta es la n.º { $index }: { $reason }.
audit-verdict-broken = NO íntegro: { $reason }.
# Por qué el registro no está íntegro: frases que completan las anteriores.
audit-reason-empty = la exportación está vacía
audit-reason-no-head = la exportación no empieza con una cabecera firmada del árbol
audit-reason-head-malformed = la cabecera del árbol está mal formada
audit-reason-head-wrong-key = la cabecera del árbol está firmada con una clave distinta de la de confianza
audit-reason-head-wrong-organisation = la cabecera del árbol es de una organización distinta de la esperada
audit-reason-head-bad-signature = la firma de la cabecera del árbol no es válida
audit-reason-not-an-entry = esta línea no es una entrada válida
audit-reason-out-of-order = falta o está fuera de orden (en su lugar está la n.º { $found })
audit-reason-other-organisation = pertenece a otra organización
audit-reason-inserted = no está cubierta por la cabecera firmada del árbol (se insertó)
audit-reason-stored-otherwise = está guardada de una forma que no es una entrada
audit-reason-changed = su contenido no coincide con su hash en el árbol (se modificó)
audit-reason-no-hash = el árbol no tiene ningún hash para ella
audit-reason-missing = falta (la cabecera firmada cubre más entradas)
audit-reason-root-mismatch = las entradas no producen la raíz firmada { $root } (se reescribió el propio árbol)

## El testigo
audit-witness-checking = Comprobando el registro con la cabecera que este navegador verificó anteriormente…
audit-witness-first =
    { $size ->
        [one] Este navegador guarda ahora como testigo la cabecera firmada de { $size } entrada: cualquier reescritura posterior de ella se detectará aquí.
       *[other] Este navegador guarda ahora como testigo la cabecera firmada de { $size } entradas: cualquier reescritura posterior de ellas se detectará aquí.
    }
audit-witness-passed =
    { $size ->
        [one] Comprobación del testigo superada: el registro de { $size } entrada es continuación de todas las cabeceras que verificó este navegador.
       *[other] Comprobación del testigo superada: el registro de { $size } entradas es continuación de todas las cabeceras que verificó este navegador.
    }
audit-witness-alarm-title = Alarma del registro de auditoría
audit-witness-alarm-text =
    El registro de auditoría no es continuación de la cabecera que verificó este navegador. Cabecera guardada: { $kept ->
        [one] { $kept } entrada
       *[other] { $kept } entradas
    }; el servidor muestra ahora { $newer ->
        [one] { $newer } entrada
       *[other] { $newer } entradas
    }; { $finding }.
# Por qué el registro no es continuación de la cabecera guardada: la última frase de la alarma.
audit-finding-not-extended = la prueba de consistencia entre ambas no se cumple: se ha reescrito el historial
audit-finding-no-proof = el servidor no puede demostrar que su registro sea continuación de la cabecera guardada
audit-finding-forked = tienen el mismo tamaño pero raíces distintas: se ha reescrito el historial
audit-finding-shrunk = el registro tiene ahora menos entradas: se han eliminado entradas
audit-finding-other-key = la cabecera más reciente está firmada con otra clave
audit-finding-other-organisation = la cabecera más reciente es de otra organización
audit-finding-bad-signature = la firma de la cabecera más reciente no es válida
audit-witness-reported-before = Esta alarma ya se comunicó al registro de auditoría.
audit-witness-reported = Se ha comunicado al registro de auditoría.
audit-witness-not-reported = No se pudo comunicar al servidor: avise a su responsable de seguridad.
audit-witness-head-failed = No se pudo obtener la cabecera firmada del árbol: { $error }
audit-witness-store-failed = Este navegador no puede actuar como testigo del registro: { $error }
audit-witness-proof-failed = No se pudo obtener la prueba de consistencia: { $error }
audit-witness-keep-failed = No se pudo guardar la cabecera verificada: { $error }
audit-witness-untrusted = La cabecera del árbol del servidor no se verifica con su propia clave; no se ha guardado nada.
audit-witness-unfinished = La comprobación del testigo no terminó.
audit-store-unavailable = este navegador no ofrece IndexedDB (el modo privado puede desactivarlo)
audit-store-refused = el IndexedDB del navegador rechazó la solicitud

## Las acciones, tal como las registra el registro
audit-action-sign-in = Inicio de sesión
audit-action-sign-in-failed = Inicio de sesión fallido
audit-action-sign-in-throttled = Inicio de sesión limitado
audit-action-second-factor-failed = Segundo factor fallido
audit-action-second-factor-enrolled = Segundo factor configurado
audit-action-sign-out = Cierre de sesión
audit-action-auto-logoff = Cierre de sesión automático
audit-action-session-expired = Sesión caducada
audit-action-session-ended = Sesión finalizada
audit-action-invitation-created = Invitación creada
audit-action-invitation-accepted = Invitación aceptada
audit-action-invitation-revoked = Invitación revocada
audit-action-invitation-refused = Invitación rechazada
audit-action-role-changed = Rol cambiado
audit-action-account-deactivated = Cuenta desactivada
audit-action-settings-changed = Configuración cambiada
audit-action-embedding-changed = Integración cambiada
audit-action-brand-changed = Imagen de marca cambiada
audit-action-break-glass-granted = Acceso de emergencia concedido
audit-action-break-glass-ended = Acceso de emergencia finalizado
audit-action-care-team-joined = Incorporación al equipo asistencial
audit-action-record-opened = Historia clínica abierta
audit-action-patient-list-read = Lista de pacientes consultada
audit-action-audit-exported = Registro de auditoría exportado
audit-action-witness-alarm = Alarma del testigo
audit-action-device-registered = Dispositivo registrado
audit-action-device-revoked = Dispositivo revocado
audit-action-device-state-key-released = Clave de estado del dispositivo entregada
audit-action-key-package-claimed = KeyPackage reclamado
audit-action-conversation-created = Conversación creada
audit-action-conversation-opened = Conversación abierta
audit-action-message-sent = Mensaje enviado
audit-action-message-delivered = Mensaje entregado
audit-action-message-read = Mensaje leído
audit-action-member-added = Miembro añadido
audit-action-member-removed = Miembro eliminado
audit-action-attachment-uploaded = Adjunto subido
audit-action-attachment-downloaded = Adjunto descargado
audit-action-quota-exceeded = Cuota de almacenamiento alcanzada
audit-action-visit-scheduled = Visita programada
audit-action-visit-cancelled = Visita cancelada
audit-action-visit-created = Visita abierta
audit-action-visit-waiting = Entró en la sala de espera
audit-action-visit-admitted = Admitido en la visita
audit-action-visit-declined = Rechazado en la visita
audit-action-visit-left = Salió de la visita
audit-action-visit-ended = Visita terminada

## Qué significa cada acción
audit-about-sign-in = Alguien inició sesión (con contraseña y, si lo tiene configurado, un segundo factor).
audit-about-sign-in-failed = Se rechazó un inicio de sesión: contraseña incorrecta, o cuenta desconocida o inactiva.
audit-about-sign-in-throttled = Intentos de inicio de sesión rechazados por el límite de frecuencia en un mismo intervalo, registrados una sola vez con su número.
audit-about-second-factor-failed = Se rechazó un código de segundo factor.
audit-about-second-factor-enrolled = Se configuró una aplicación de autenticación (por primera vez, o sustituyendo otra con el código actual).
audit-about-sign-out = Alguien cerró la sesión.
audit-about-auto-logoff = La aplicación cerró la sesión de alguien tras el tiempo de inactividad.
audit-about-session-expired = Una sesión terminó por sí sola: por inactividad o por alcanzar su duración máxima.
audit-about-session-ended = Una sesión terminó por la acción de otra persona (desactivación, cambio de rol, sustitución de un factor).
audit-about-invitation-created = Se creó un enlace de invitación.
audit-about-invitation-accepted = Se usó una invitación para crear una cuenta.
audit-about-invitation-revoked = Se retiró una invitación abierta (un administrador, o porque quien la envió perdió la autorización para enviarla).
audit-about-invitation-refused = Se rechazó una invitación porque quien la envió ya no puede invitar a ese rol.
audit-about-role-changed = Un administrador cambió el rol de alguien.
audit-about-account-deactivated = Un administrador desactivó una cuenta.
audit-about-settings-changed = Un administrador cambió la configuración de la organización.
audit-about-embedding-changed = Un administrador cambió qué orígenes asociados pueden integrar la aplicación (la nueva lista).
audit-about-brand-changed = Un administrador cambió cómo se presenta la organización (cuáles de estos: nombre, colores, contacto de asistencia, idioma, logotipo).
audit-about-break-glass-granted = Un profesional clínico abrió el acceso de emergencia a un paciente que no pertenece a su equipo asistencial.
audit-about-break-glass-ended = Terminó un acceso de emergencia (el profesional clínico lo terminó antes, o se agotó su tiempo).
audit-about-care-team-joined = Se incorporó a un profesional clínico al equipo asistencial de un paciente (quién lo hizo y a quién).
audit-about-record-opened = Se consultó la historia clínica de un paciente.
audit-about-patient-list-read = Se consultó una lista con datos de pacientes (qué lista y cuántos registros).
audit-about-audit-exported = Se exportó el registro de auditoría.
audit-about-witness-alarm = Un navegador que había verificado una cabecera del árbol anterior descubrió que el registro no es continuación de ella.
audit-about-device-registered = Un navegador registró un dispositivo de cifrado de extremo a extremo y el servidor certificó su clave.
audit-about-device-revoked = Se revocó un dispositivo de cifrado de extremo a extremo (su propietario, o porque la cuenta se desactivó o cambió de rol); ya no se le entrega nada más.
audit-about-device-state-key-released = Se entregó a una sesión de su propietario el secreto que desbloquea el almacén local de un dispositivo (se registra una vez por sesión y dispositivo cada 10 minutos).
audit-about-key-package-claimed = Se entregó un KeyPackage de un dispositivo para poder añadirlo a una conversación (qué dispositivo, de un solo uso o de último recurso; nunca el paquete).
audit-about-conversation-created = Se inició una conversación cifrada de extremo a extremo sobre la atención de un paciente.
audit-about-conversation-opened = Alguien abrió una conversación en la aplicación (se registra una vez por sesión y conversación cada 10 minutos).
audit-about-message-sent = Se aceptó en una conversación un mensaje cifrado o un cambio de miembros (identificadores y tamaños, nunca el contenido).
audit-about-message-delivered = Un dispositivo confirmó la recepción de mensajes de una conversación (qué números de secuencia).
audit-about-message-read = Alguien leyó una conversación en un dispositivo, hasta un número de secuencia (según su dispositivo).
audit-about-member-added = Se añadió un dispositivo a una conversación.
audit-about-member-removed = Se quitó un dispositivo de una conversación.
audit-about-attachment-uploaded = Se guardó un adjunto cifrado para una conversación (identificador y tamaño).
audit-about-attachment-downloaded = Un miembro de la conversación descargó un adjunto cifrado de ella (identificador y tamaño).
audit-about-quota-exceeded = Se rechazó un mensaje o adjunto porque se agotó una cuota de almacenamiento.
audit-about-visit-scheduled = Se programó una videoconsulta: paciente, profesional, inicio y duración.
audit-about-visit-cancelled = Se canceló una videoconsulta programada antes de que terminara.
audit-about-visit-created = El dispositivo del profesional abrió el grupo cifrado de extremo a extremo de la visita.
audit-about-visit-waiting = Alguien entró en la sala de espera de la visita con uno de sus dispositivos.
audit-about-visit-admitted = El profesional admitió a alguien de la sala de espera: solo entonces puede su dispositivo recibir las claves de la visita.
audit-about-visit-declined = El profesional rechazó a alguien en la sala de espera, o lo sacó de la visita.
audit-about-visit-left = Alguien salió de la visita.
audit-about-visit-ended = El profesional terminó la visita para todos: no se envía nada más en su grupo.
