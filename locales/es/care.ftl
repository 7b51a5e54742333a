# Las vistas de atención (pacientes, profesionales clínicos, personal), el segundo
# factor de la cuenta, la pantalla de rechazo y las comprobaciones del navegador.

## Para qué sirve cada vista, bajo su título.
care-lede-care-team = Los profesionales clínicos que le atienden.
care-lede-visits = Sus videoconsultas con su equipo de atención.
care-lede-messages = Conversaciones cifradas de extremo a extremo con su equipo de atención.
care-lede-my-activity = Cada vez que alguien ajeno a su equipo de atención abrió su historial, y por qué.
care-lede-my-patients = Los pacientes a su cargo, y la invitación de uno nuevo.
care-lede-waiting-room = Pacientes que se han unido a una consulta y esperan a ser admitidos.
care-lede-schedule = Próximas consultas de toda la clínica.
care-lede-patient-contacts = Cómo contactar con los pacientes. Aquí no se muestran datos clínicos.
care-lede-users = Todas las personas con una cuenta en su organización: funciones y acceso.
care-lede-invitations = Invite al personal con un enlace de un solo uso y retire las invitaciones aún no utilizadas.
care-lede-org-settings = Ajustes que se aplican a todas las personas de su organización.
care-lede-break-glass-events = Cada acceso de emergencia al historial de un paciente, con el motivo indicado.
care-lede-audit = El registro a prueba de manipulaciones de cada inicio de sesión, acceso y cambio.

## Las vistas del paciente.
care-team-empty-title = Todavía no tiene ningún profesional clínico asignado.
care-team-empty-text = Cuando su clínica le asigne un profesional clínico, aparecerá aquí.
care-visits-empty-title = No tiene ninguna consulta programada.
care-visits-empty-text = Cuando su clínica programe una videoconsulta con usted, aparecerá aquí con un botón para unirse.
care-activity-empty-title = Nadie ajeno a su equipo de atención ha abierto su historial.
care-activity-empty-text = Si algún profesional clínico necesita alguna vez un acceso de emergencia a su historial, verá aquí quién, cuándo y por qué, así como quién se une a su equipo de atención.
care-activity-emergency = Acceso de emergencia a su historial
# $by: el nombre del profesional clínico que incorporó al otro al equipo de atención.
care-activity-joined = Se unió a su equipo de atención (incorporado por { $by })
care-activity-reason-given = Motivo indicado:

## Las vistas del profesional clínico.
care-no-patients-title = Todavía no tiene ningún paciente asignado.
care-no-patients-text = Invite a un paciente a continuación, o pida a un administrador que le añada a un equipo de atención.
care-waiting-room-empty-title = No hay nadie esperando.
care-waiting-room-empty-text = Los pacientes que se unen a una consulta esperan aquí hasta que usted los admita.

## El historial de un paciente, tal como lo ve un profesional clínico.
care-back-to-patients = ← Mis pacientes
care-record-title = Historial del paciente
care-record-unavailable = No se puede mostrar este historial.
care-team-title = Equipo de atención
care-no-team = Sin equipo de atención.
care-bring-clinician = Incorporar a un profesional clínico al equipo de atención
care-choose-clinician = Elija un profesional clínico
care-choose-clinician-first = Elija primero un profesional clínico.
care-add-to-team = Añadir al equipo de atención
care-added-to-team = Añadido al equipo de atención. Sus dispositivos se unen a las conversaciones del equipo de atención, con el historial de mensajes.
care-outside-team = Fuera de su equipo de atención
care-emergency-title = Acceso de emergencia
care-emergency-text = Solo en caso de emergencia. El acceso dura un tiempo limitado, queda anotado en el registro de auditoría y se informa al paciente y a los administradores.
care-emergency-reason = Motivo del acceso de emergencia
care-emergency-reason-help = Al menos 20 caracteres: cuál es la emergencia y por qué necesita este historial.
care-emergency-open = Abrir con acceso de emergencia
care-emergency-granted = Acceso de emergencia concedido. Queda registrado y se muestra al paciente.
care-emergency-banner = Acceso de emergencia: esta apertura queda registrada y se muestra al paciente y a los administradores.
care-emergency-end = Finalizar ahora el acceso de emergencia
care-emergency-ended = El acceso de emergencia ha finalizado.

## Las vistas del personal.
care-schedule-empty-title = No hay consultas programadas.
care-schedule-empty-text = Las consultas reservadas en la clínica aparecerán aquí, ordenadas por día.
care-contacts-empty-title = Todavía no hay pacientes.
care-contacts-label = Datos de contacto de los pacientes
care-column-name = Nombre
care-column-email = Correo electrónico

## El segundo factor de la persona que ha iniciado sesión.
account-protect-title = Proteja su cuenta
account-protect-text = Pida un código de una aplicación de autenticación además de su contraseña al iniciar sesión. Así su cuenta estará protegida aunque alguien llegue a conocer su contraseña.
account-enrol-start = Configurar una aplicación de autenticación
account-enrol-scan = Escanee este código con su aplicación de autenticación, o escriba en ella la clave, y luego introduzca el código que muestre.
account-qr-label = Código QR para su aplicación de autenticación
account-key = Clave:
account-code = Código
account-code-help = El código de 6 dígitos que muestra ahora su aplicación de autenticación.
account-unexpected-answer = Respuesta inesperada del servidor.

## La pantalla que se muestra cuando la aplicación no se inicia.
refused-title = Haven no puede iniciarse de forma segura
refused-protect = Para proteger su información de salud, Haven no se ha conectado a nada. Si esto sigue ocurriendo, póngase en contacto con el equipo de soporte de su clínica y dígales lo que indica esta página.
refused-detail = Detalle técnico:
# $scheme: el esquema de la página ("http", …), o "unknown".
refused-insecure-page = { $scheme ->
        [unknown] Esta página no se cargó mediante una conexión segura. Abra Haven desde su dirección https://.
       *[other] Esta página no se cargó mediante una conexión segura (utiliza { $scheme }:). Abra Haven desde su dirección https://.
    }
# $problem: una de las frases refused-config-… de abajo.
refused-config = La configuración del servidor no es segura. { $problem }
# $field: el nombre del ajuste en la configuración (api_origin, ws_url).
refused-config-endpoint = El ajuste { $field } no contiene una dirección segura válida (https:// o wss://).
refused-config-brand-name = El nombre de la organización debe tener entre 1 y { $max } caracteres, sin caracteres de control.
refused-config-brand-colour = Un color de la marca no está escrito como #rrggbb.
refused-config-brand-support = El contacto de soporte debe tener como máximo { $max } caracteres, sin caracteres de control.
refused-config-brand-logo = La dirección del logotipo no es una de las que proporciona el servidor.
refused-config-embed-origins = Los sitios asociados que pueden integrar la aplicación no son orígenes https:// simples.
refused-config-idle-timeout = El tiempo de inactividad debe estar entre { $min } y { $max } segundos.
# $problem: por qué falló la solicitud.
refused-network = Haven no pudo cargar su configuración: { $problem }

## Lo que puede hacer este navegador, en la página de inicio de sesión.
capability-secure-storage = Almacenamiento cifrado de mensajes
capability-secure-storage-missing = Este navegador no puede guardar mensajes cifrados (no dispone de IndexedDB o WebCrypto). Utilice una versión actual de Chrome, Edge, Firefox o Safari.
capability-video-visits = Videoconsultas
capability-video-visits-missing = Las videoconsultas no están disponibles en este navegador: no es compatible con WebRTC. Utilice una versión actual de Chrome, Edge, Firefox o Safari para unirse a una consulta.
