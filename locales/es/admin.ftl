# Las vistas del administrador: usuarios, invitaciones, acceso de emergencia, ajustes de
# la organización y marca.

## Encabezados de columna (también la etiqueta de cada celda cuando una fila se muestra como tarjeta)
admin-column-name = Nombre
admin-column-email = Correo electrónico
admin-column-role = Función
admin-column-invited-by = Invitado por
admin-column-expires = Caduca
admin-column-status = Estado

## Invitaciones
admin-open-invitations-title = Invitaciones pendientes
admin-invitations-empty-title = No hay invitaciones pendientes.
admin-invitations-empty-text = Las invitaciones que aún no se han usado aparecen aquí hasta que se usan, se retiran o caducan.
admin-withdraw = Retirar
admin-withdraw-title = ¿Retirar la invitación a { $name }?
admin-withdraw-message = El enlace dejará de funcionar de inmediato. Puede volver a invitar a esta persona más adelante.
admin-withdraw-confirm = Retirar invitación
admin-withdrawn = Se ha retirado la invitación a { $name }.

## El formulario de invitación (los administradores invitan al personal, los clínicos a los pacientes)
admin-invite-title = Invitar a alguien
admin-invite-patient-title = Invitar a un paciente
admin-invite-role-label = Función
admin-invite-role-help = Lo que podrá ver y hacer. Las funciones del personal configuran una aplicación de autenticación al iniciar sesión por primera vez.
admin-invite-name-label = Nombre
admin-invite-name-help = Tal como deben verlo los demás en la clínica.
admin-invite-email-label = Correo electrónico
admin-invite-create = Crear enlace de invitación
admin-invite-created = Invitación creada. Envíe el enlace a la persona que ha invitado.
admin-invite-link-notice = Envíe este enlace de un solo uso a esa persona (válido durante 72 horas). Cualquiera que tenga el enlace puede configurar la cuenta, así que envíelo solo a ella.

## Acceso de emergencia
admin-break-glass-empty-title = No se ha usado ningún acceso de emergencia.
admin-break-glass-empty-text = Cuando un clínico abre el historial de alguien fuera de su equipo de atención, aparece aquí con el motivo que indicó.
# Los nombres se muestran en negrita donde están las variables.
admin-break-glass-opened = { $clinician } abrió el historial de { $patient }
admin-break-glass-until = { $granted } · hasta { $expires }
admin-break-glass-ended = { $granted } · terminó { $expires }
# Seguido del motivo que escribió el clínico.
admin-break-glass-reason = Motivo:

## Usuarios
admin-users-title = Usuarios
admin-users-empty-title = Aún no hay usuarios.
admin-you = Usted
admin-role-of = Función de { $name }
admin-status-active = Activa
admin-status-deactivated = Desactivada
admin-status-no-second-factor = Sin segundo factor
admin-deactivate = Desactivar
# $from y $to son nombres de funciones.
admin-change-role-title = ¿Cambiar la función de { $name }?
admin-change-role-message = De { $from } a { $to }. Se cerrará su sesión en todas partes de inmediato y, cuando vuelva a iniciar sesión, verá las vistas de { $to }. Se retirarán las invitaciones que haya enviado y que la nueva función no permita enviar.
admin-change-role-confirm = Cambiar función
admin-role-changed = { $name } ahora tiene la función { $role }. Sus sesiones han terminado.
admin-deactivate-title = ¿Desactivar a { $name }?
admin-deactivate-message = Se cerrará su sesión en todas partes de inmediato y ya no podrá iniciar sesión. Su historial se conserva en el registro de auditoría.
admin-deactivate-confirm = Desactivar cuenta
admin-deactivated = La cuenta de { $name } está desactivada; sus sesiones han terminado.

## Cierre de sesión automático
admin-idle-title = Cierre de sesión automático
admin-idle-loading = Cargando el ajuste actual…
# $duration se escribe con admin-duration-* más abajo.
admin-idle-now = Ahora: tras { $duration } sin actividad. Se muestra un aviso un minuto antes.
admin-idle-label = Tiempo de inactividad antes del cierre de sesión automático (segundos)
admin-idle-help = Por ejemplo, 900 para 15 minutos. Las sesiones nuevas lo usan de inmediato.
admin-idle-invalid = Introduzca un número entero de segundos entre { $min } y { $max }.
admin-idle-saved = Guardado. Se cerrará la sesión de las personas tras { $duration } sin actividad.
admin-quota-title = Cuotas de almacenamiento
admin-quota-help = Lo que pueden ocupar los mensajes y adjuntos, en megabytes: por día y en total a la vez (todo se guarda 30 días como máximo). Al superar una cuota, el envío se rechaza hasta que vuelva a haber espacio.
admin-quota-device-day = Cada dispositivo, por día (MB)
admin-quota-device-held = Cada dispositivo, en total (MB)
admin-quota-person-day = Cada persona, por día (MB)
admin-quota-person-held = Cada persona, en total (MB)
admin-quota-org-day = Toda la organización, por día (MB)
admin-quota-org-held = Toda la organización, en total (MB)
admin-quota-invalid = Escriba un número entero de megabytes de { $min } a { $max }.
admin-quota-saved = Cuotas de almacenamiento guardadas.
# Partes de una duración, unidas por espacios: «1 hora 30 minutos».
admin-duration-hours = { $count ->
    [one] { $count } hora
   *[other] { $count } horas
}
admin-duration-minutes = { $count ->
    [one] { $count } minuto
   *[other] { $count } minutos
}
admin-duration-seconds = { $count ->
    [one] { $count } segundo
   *[other] { $count } segundos
}

## Marca
admin-brand-title = Marca
admin-brand-intro = Cómo presenta la aplicación su organización a los pacientes y al personal.
admin-brand-name-label = Nombre
admin-brand-support-label = Contacto de asistencia
admin-brand-support-help = Cómo pueden pedirle ayuda los pacientes: una dirección, un número de teléfono. Déjelo vacío si no hay ninguno.
admin-brand-language-label = Idioma predeterminado
admin-brand-colours = Colores
admin-brand-preview = Vista previa
admin-brand-preview-muted = Texto secundario, como la hora de un mensaje.
admin-brand-preview-link = Un enlace
admin-brand-preview-button = Un botón
admin-brand-contrast-error = Parte del texto sería demasiado tenue para leerlo. Elija un texto más oscuro o fondos más claros para guardar.
admin-brand-save = Guardar marca
admin-brand-saved = Guardado. Todos verán la nueva marca la próxima vez que se cargue la aplicación.
# Cómo llama el formulario a cada color.
admin-colour-primary = Botones y enlaces
admin-colour-on-primary = Texto de los botones
admin-colour-page = Fondo de la página
admin-colour-surface = Tarjetas y paneles
admin-colour-text = Texto
admin-colour-text-muted = Texto secundario
# Cada par de colores cuyo contraste se comprueba, como $pair en admin-contrast-*.
admin-pair-text-page = texto sobre el fondo de la página
admin-pair-text-surface = texto sobre tarjetas y paneles
admin-pair-text-muted-page = texto secundario sobre el fondo de la página
admin-pair-text-muted-surface = texto secundario sobre tarjetas y paneles
admin-pair-on-primary-primary = texto de los botones
admin-pair-primary-surface = enlaces sobre tarjetas y paneles
# Un par que la aplicación no sabe nombrar: $foreground y $background son nombres de colores.
admin-pair-other = { $foreground } sobre { $background }
# $ratio es el contraste, $min el mínimo que se puede guardar (ambos como en 4,5:1).
admin-contrast-readable = Legible: { $pair }: { $ratio }:1
admin-contrast-too-faint = Demasiado tenue: { $pair }: { $ratio }:1 (necesita { $min }:1)

admin-brand-logo-label = Logotipo
admin-brand-logo-help = Un archivo PNG o SVG de { $kb } KB como máximo. Sustituye a la primera letra del nombre que aparece a su lado.
admin-brand-logo-current = El logotipo actual
admin-brand-logo-remove = Quitar logotipo
admin-brand-logo-saved = Logotipo guardado.
admin-brand-logo-removed = Logotipo quitado.
admin-brand-logo-type = Elija un archivo PNG o SVG.
admin-brand-logo-size = El archivo supera los { $kb } KB.
admin-brand-logo-unreadable = Este navegador no pudo leer el archivo.
