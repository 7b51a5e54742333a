sign-in-title = Iniciar sesión
sign-in-email = Correo electrónico
sign-in-password = Contraseña
sign-in-password-missing = Introduzca su contraseña.
sign-in-submit = Iniciar sesión
sign-in-join-title = Configure su cuenta
sign-in-choose-password = Elija una contraseña
sign-in-choose-password-help = Al menos 12 caracteres. Unas cuantas palabras sin relación entre sí forman una contraseña segura.
sign-in-create-account = Crear cuenta
sign-in-code = Código
sign-in-code-help = El código de 6 dígitos que muestra ahora su aplicación de autenticación.
sign-in-code-title = Introduzca su código
sign-in-code-text = Abra su aplicación de autenticación para ver el código de esta cuenta.
sign-in-continue = Continuar
sign-in-enrol-title = Configure su aplicación de autenticación
sign-in-enrol-text = Su función requiere un segundo factor. Escanee este código con una aplicación de autenticación, o escriba la clave de abajo, y luego introduzca el código que muestre.
sign-in-key = Clave:
sign-in-unexpected = Respuesta inesperada del servidor. Vuelva a empezar.

signed-out-by-user = Ha cerrado la sesión.
signed-out-inactivity = Se cerró su sesión por inactividad.
signed-out-deactivated = Un administrador ha desactivado su cuenta.
signed-out-role-changed = Su función ha cambiado. Vuelva a iniciar sesión.
signed-out-elsewhere = Cerró la sesión en otra ventana.
signed-out-factor-changed = Se cambió su segundo factor. Vuelva a iniciar sesión.
signed-out-device-revoked = Se quitó el dispositivo de cifrado de este navegador. Vuelva a iniciar sesión.
signed-out-ended = Su sesión ha terminado. Vuelva a iniciar sesión.

welcome-to = Bienvenido a { $name }
welcome-encrypted = Su conexión con este servicio está cifrada.
this-browser = Este navegador
capability-available = Disponible

idle-title = ¿Sigue ahí?
idle-text = { $seconds ->
    [one] Se cerrará su sesión en { $seconds } segundo por inactividad.
   *[other] Se cerrará su sesión en { $seconds } segundos por inactividad.
}
idle-stay = Seguir conectado

not-permitted-title = No permitido
not-permitted-text = Su función no incluye esta página. Elija una de sus páginas en el menú.
not-found-title = Página no encontrada
not-found-text = No hay ninguna página en esta dirección. Elija una de sus páginas en el menú.

skip-to-content = Ir al contenido
nav-main = Principal
sign-out = Cerrar sesión

link-connecting = Conectando de forma segura…
link-open = Conectado de forma segura
link-reconnecting = Se perdió la conexión. Reconectando…

role-patient = Paciente
role-clinician = Profesional clínico
role-staff = Personal
role-admin = Administrador
role-auditor = Auditor

view-care-team = Equipo de atención
view-visits = Consultas
view-messages = Mensajes
view-my-activity = Mi actividad
view-my-patients = Mis pacientes
view-waiting-room = Sala de espera
view-schedule = Agenda
view-patient-contacts = Contactos de pacientes
view-users = Usuarios
view-invitations = Invitaciones
view-org-settings = Ajustes de la organización
view-break-glass-events = Acceso de emergencia
view-audit = Registro de auditoría
