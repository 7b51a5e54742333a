//! Wire types of end-to-end encrypted messaging: device registration with the
//! Authentication Service, the KeyPackage directory, and the bytes of MLS messages.
//!
//! Everything here is either public key material or MLS ciphertext: the server learns
//! which device talks in which conversation and how much, never what is said. Binary
//! values travel as lower-case hex in JSON bodies (exact to describe and to parse) and
//! as base64 in WebSocket frames (where size matters).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::{FieldError, Id};

/// Largest KeyPackage the directory takes, in bytes (one is about 1 KB with its
/// certificate).
pub const MAX_KEY_PACKAGE_BYTES: usize = 4096;
/// KeyPackages one upload may carry.
pub const MAX_KEY_PACKAGES_PER_UPLOAD: usize = 50;
/// One-time KeyPackages a device may keep in the directory at once.
pub const MAX_KEY_PACKAGE_POOL: u32 = 200;
/// The pool size a client keeps itself topped up to.
pub const KEY_PACKAGE_TARGET: u32 = 20;
/// MLS devices a person may have registered and not revoked at once.
pub const MAX_DEVICES_PER_USER: u32 = 10;
/// People whose devices one claim asks for.
pub const MAX_CLAIM_USERS: usize = 50;
/// How long a device certificate is valid, in seconds.
pub const CERTIFICATE_LIFETIME_SECS: u64 = 365 * 24 * 3600;

/// Lower-case hex of at most `max_bytes` bytes.
pub fn parse_hex(input: &str, max_bytes: usize) -> Result<Vec<u8>, FieldError> {
    if input.is_empty() || !input.len().is_multiple_of(2) || input.len() > 2 * max_bytes {
        return Err(FieldError::Bytes);
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    input
        .as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or(FieldError::Bytes)
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A device's Ed25519 signature key: 32 bytes, as 64 lower-case hex characters.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SignatureKey(Vec<u8>);

impl SignatureKey {
    pub const BYTES: usize = 32;
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let bytes = parse_hex(input, Self::BYTES)?;
        if bytes.len() != Self::BYTES {
            return Err(FieldError::Bytes);
        }
        Ok(Self(bytes))
    }
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes.to_vec())
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// How long a device registration challenge may be used, in seconds.
pub const DEVICE_CHALLENGE_LIFETIME_SECS: i64 = 120;
/// Challenges one session may hold unused at once.
pub const MAX_OPEN_DEVICE_CHALLENGES: u32 = 4;
/// What every device registration signature starts with; see [`registration_message`].
pub const DEVICE_REGISTRATION_DOMAIN: &[u8] = b"haven device registration v1\n";

/// A device registration challenge: 32 random bytes the server issued to one session, as
/// 64 lower-case hex characters.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegistrationChallenge([u8; 32]);

impl RegistrationChallenge {
    pub const BYTES: usize = 32;
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        parse_hex(input, Self::BYTES)?
            .try_into()
            .map(Self)
            .map_err(|_| FieldError::Bytes)
    }
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// An Ed25519 signature by a device's key over its [`registration_message`]: 64 bytes,
/// as 128 lower-case hex characters.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegistrationSignature([u8; 64]);

impl RegistrationSignature {
    pub const BYTES: usize = 64;
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        parse_hex(input, Self::BYTES)?
            .try_into()
            .map(Self)
            .map_err(|_| FieldError::Bytes)
    }
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

/// What a device signs with its new key to register it, so that the server certifies
/// only a key whose private half the caller holds, for this organisation and person, in
/// this session, now:
///
/// `"haven device registration v1\n"`, the organisation's id, `"\n"`, the user's id,
/// `"\n"`, then the challenge's 32 bytes as they are (not hex). Ids are their 32
/// lower-case hex characters, so the message is always 127 bytes. The prefix keeps the
/// signature from being taken for any other made with the key: the MLS signatures it
/// also makes begin with a length and "MLS 1.0 " (RFC 9420 §5.1.2).
pub fn registration_message(
    organisation: &Id,
    user: &Id,
    challenge: &RegistrationChallenge,
) -> Vec<u8> {
    let mut message = Vec::with_capacity(DEVICE_REGISTRATION_DOMAIN.len() + 2 * 33 + 32);
    message.extend_from_slice(DEVICE_REGISTRATION_DOMAIN);
    message.extend_from_slice(organisation.as_str().as_bytes());
    message.push(b'\n');
    message.extend_from_slice(user.as_str().as_bytes());
    message.push(b'\n');
    message.extend_from_slice(challenge.as_bytes());
    message
}

/// An encoded MLS KeyPackage, as lower-case hex.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyPackageBytes(Vec<u8>);

impl KeyPackageBytes {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        parse_hex(input, MAX_KEY_PACKAGE_BYTES).map(Self)
    }
    pub fn new(bytes: Vec<u8>) -> Result<Self, FieldError> {
        if bytes.is_empty() || bytes.len() > MAX_KEY_PACKAGE_BYTES {
            return Err(FieldError::Bytes);
        }
        Ok(Self(bytes))
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

macro_rules! hex_string {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                to_hex(&v.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({} bytes)", stringify!($name), self.0.len())
            }
        }
    };
}
hex_string!(SignatureKey);
hex_string!(KeyPackageBytes);
hex_string!(RegistrationChallenge);
hex_string!(RegistrationSignature);

/// `POST /api/mls/devices/challenge`: a fresh challenge for this session, which the new
/// device's key signs to register. It is taken once, by this session, until `expires_at`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceChallenge {
    pub challenge: RegistrationChallenge,
    /// Unix seconds: the challenge is refused from then on.
    pub expires_at: i64,
}

/// `POST /api/mls/devices`: register this browser's MLS signature key. `challenge` is
/// one this session got from `POST /api/mls/devices/challenge`, and `signature` is the
/// Ed25519 signature by `signature_key` over the registration message (the domain
/// `"haven device registration v1\n"`, the organisation's id, `"\n"`, the user's id,
/// `"\n"`, the challenge's 32 bytes): proof that the caller holds the private key.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterDevice {
    pub signature_key: SignatureKey,
    pub challenge: RegistrationChallenge,
    pub signature: RegistrationSignature,
}

/// The server's certificate for a registered device.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredDevice {
    pub device: Id,
    /// The encoded device certificate, hex.
    pub certificate: String,
}

/// `GET /api/mls/devices/{id}/state-key`: the secret that unlocks the device's local
/// store. The server releases it only to a signed-in session of the device's owner, so
/// after sign-out or automatic logoff the browser's copy of the conversations stays
/// sealed until the next sign-in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStateKey {
    /// 32 bytes, hex.
    pub key: String,
    /// The highest version of the device's sealed state its messages were sent from
    /// (the `state` of its `send` frames): a sealed state older than this was put
    /// back, and is not opened.
    #[serde(default)]
    pub version: u64,
}

impl fmt::Debug for DeviceStateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceStateKey(<redacted>)")
    }
}

/// Largest attachment a person can send, in bytes, before encryption.
pub const MAX_ATTACHMENT_BYTES: u64 = 25 * 1024 * 1024;
/// What encryption adds at most (nonce, tag, a small header), in bytes.
pub const ATTACHMENT_OVERHEAD_BYTES: u64 = 1024;

/// `POST /api/conversations/{id}/attachments`: the stored blob's id and size.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentStored {
    pub id: Id,
    pub size: u64,
}

/// `GET /api/mls/trust`: what a client needs to check certificates.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustAnchor {
    pub organisation: Id,
    /// The Authentication Service's Ed25519 key, hex.
    pub issuer_key: String,
    /// Revoked devices of the organisation that a member could still meet (still in a
    /// conversation, or with a KeyPackage someone other than their owner may hold):
    /// refuse them from now on. A revoked device left out is in no conversation and
    /// cannot be added to one (the server refuses it).
    pub revoked: Vec<Id>,
}

/// `POST /api/mls/devices/{id}/key-packages`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadKeyPackages {
    pub key_packages: Vec<KeyPackageBytes>,
}

/// What the directory holds for one device.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPackagePool {
    pub one_time: u32,
    pub last_resort: bool,
}

/// `POST /api/mls/key-packages/claim`: one KeyPackage for each device of these people.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimKeyPackages {
    pub users: Vec<Id>,
    /// Only these devices of those people (a member's new device, to add it to a
    /// conversation); every device of theirs when empty.
    #[serde(default)]
    pub devices: Vec<Id>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedKeyPackage {
    pub user: Id,
    pub device: Id,
    /// The KeyPackage inside its `MLSMessage`, as the device uploaded it, hex.
    pub key_package: String,
}

/// Largest MLS message the Delivery Service takes, in bytes: a commit or Welcome for a
/// conversation of a few hundred devices, or an application message with its padding.
pub const MAX_MLS_MESSAGE_BYTES: usize = 1024 * 1024;
/// How long the server keeps a message that some member device has not acknowledged.
pub const MESSAGE_RETENTION_SECS: i64 = 30 * 24 * 3600;
/// Messages one device may have in flight (sent, not yet acknowledged) per conversation.
pub const DELIVERY_WINDOW: u32 = 256;

/// What one scope may store: bytes written per day (UTC) and bytes held at once (what
/// it wrote within the retention period).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1_000_000, maximum = 100_000_000_000_000_u64)
    )]
    pub bytes_per_day: u64,
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1_000_000, maximum = 100_000_000_000_000_u64)
    )]
    pub bytes_held: u64,
}

/// `GET/PUT /api/org/quotas`: what each device, each person and the whole organisation
/// may store (messages and attachments). Past one, a send or an upload is refused with
/// `quota_exceeded` and when to try again.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    pub device: Quota,
    pub person: Quota,
    pub organisation: Quota,
}

/// Every quota an administrator may set lies in this range (1 MB to 100 TB).
pub const QUOTA_RANGE_BYTES: std::ops::RangeInclusive<u64> = 1_000_000..=100_000_000_000_000;

impl Default for Quotas {
    /// A person's day holds a few dozen attachments or hundreds of thousands of
    /// messages; one device a little less, so a second device of theirs still works.
    fn default() -> Self {
        const MB: u64 = 1_000_000;
        Self {
            device: Quota {
                bytes_per_day: 200 * MB,
                bytes_held: 1_000 * MB,
            },
            person: Quota {
                bytes_per_day: 250 * MB,
                bytes_held: 2_000 * MB,
            },
            organisation: Quota {
                bytes_per_day: 20_000 * MB,
                bytes_held: 200_000 * MB,
            },
        }
    }
}

impl Quotas {
    /// Whether every quota lies in [`QUOTA_RANGE_BYTES`].
    pub fn valid(&self) -> bool {
        [self.device, self.person, self.organisation]
            .iter()
            .all(|q| {
                QUOTA_RANGE_BYTES.contains(&q.bytes_per_day)
                    && QUOTA_RANGE_BYTES.contains(&q.bytes_held)
            })
    }
}

/// MLS bytes in a WebSocket frame: standard base64 with padding.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MlsBytes(Vec<u8>);

impl MlsBytes {
    pub fn new(bytes: Vec<u8>) -> Result<Self, FieldError> {
        if bytes.is_empty() || bytes.len() > MAX_MLS_MESSAGE_BYTES {
            return Err(FieldError::Bytes);
        }
        Ok(Self(bytes))
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl TryFrom<String> for MlsBytes {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        use base64::Engine as _;
        if s.len() > MAX_MLS_MESSAGE_BYTES.div_ceil(3) * 4 {
            return Err(FieldError::Bytes);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|_| FieldError::Bytes)?;
        Self::new(bytes)
    }
}

impl From<MlsBytes> for String {
    fn from(v: MlsBytes) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(v.0)
    }
}

impl fmt::Debug for MlsBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MlsBytes({} bytes)", self.0.len())
    }
}

/// What travels beside a commit. Who it adds and removes is read from the commit itself
/// (the Delivery Service checks every commit against the conversation's public group
/// state): no declaration of it is taken.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitInfo {
    /// The Welcome (an `MLSMessage`) for the devices added: present exactly when the
    /// commit adds devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub welcome: Option<MlsBytes>,
    /// The conversation's first commit only: the group's `GroupInfo` at epoch 0 (an
    /// `MLSMessage`, with the ratchet tree extension), from which the Delivery Service
    /// starts the public view it checks every commit against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_info: Option<MlsBytes>,
}

/// What a delivered message is, for the receiving device.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivered {
    Application,
    Commit,
    /// The Welcome that adds this device; later messages follow it.
    Welcome,
}

/// `POST /api/conversations`: start a conversation about a patient's care, with the
/// caller's device as its first member.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    pub patient: Id,
    pub device: Id,
    /// Every clinician of the patient's care team belongs, including those brought in
    /// later (a clinician's choice); otherwise only the people it was started with.
    #[serde(default)]
    pub care_team: bool,
}

/// A conversation as its list shows it; no content.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: Id,
    pub patient: Id,
    pub created_by: Id,
    pub created_at: i64,
    /// The newest sequence number in the conversation.
    pub last_seq: u64,
    /// What this device has acknowledged (for unread counts).
    pub acked_seq: u64,
    /// This device's membership ended (removed or revoked).
    pub left: bool,
    /// A care-team conversation: the patient's whole care team belongs.
    #[serde(default)]
    pub care_team: bool,
    /// Devices of people in the conversation that are not in it yet (a new browser of
    /// theirs), for this device to add: only one's own, or anyone's for a clinician.
    #[serde(default)]
    pub waiting: Vec<WaitingDevice>,
    /// A visit's group (issue 23): its signalling and in-visit chat, shown with the visit
    /// rather than among the conversations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<Id>,
    /// In a visit's group, for its clinician's device: devices no longer in the visit
    /// (declined, gone, or replaced by another), to remove with a commit so the keys
    /// change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leaving: Vec<Id>,
}

/// A device to add to a conversation.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingDevice {
    pub device: Id,
    pub user: Id,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_values_are_parsed_exactly() {
        let key = "ab".repeat(32);
        assert_eq!(SignatureKey::parse(&key).unwrap().as_bytes(), &[0xab; 32]);
        for bad in [
            "",
            "ab",
            &"AB".repeat(32),
            &"ab".repeat(33),
            &format!("{}g", "a".repeat(63)),
        ] {
            assert_eq!(SignatureKey::parse(bad), Err(FieldError::Bytes), "{bad}");
        }
        assert_eq!(
            KeyPackageBytes::parse("00ff").unwrap().as_bytes(),
            &[0, 255]
        );
        assert!(KeyPackageBytes::parse("0").is_err());
        assert!(KeyPackageBytes::parse(&"00".repeat(MAX_KEY_PACKAGE_BYTES)).is_ok());
        assert!(KeyPackageBytes::parse(&"00".repeat(MAX_KEY_PACKAGE_BYTES + 1)).is_err());
        let round: String = KeyPackageBytes::parse("0a1b").unwrap().into();
        assert_eq!(round, "0a1b");
        let challenge = RegistrationChallenge::parse(&"c3".repeat(32)).unwrap();
        assert_eq!(challenge.as_bytes(), &[0xc3; 32]);
        let signature = RegistrationSignature::parse(&"5e".repeat(64)).unwrap();
        assert_eq!(String::from(signature), "5e".repeat(64));
        for bad in [&"c3".repeat(31), &"c3".repeat(33), &"C3".repeat(32)] {
            assert!(RegistrationChallenge::parse(bad).is_err(), "{bad}");
        }
        assert!(RegistrationSignature::parse(&"5e".repeat(32)).is_err());
    }

    /// The message a device signs to register, byte for byte: other clients build it
    /// from this description.
    #[test]
    fn the_registration_message_is_fixed() {
        let organisation = Id::parse(&"0a".repeat(16)).unwrap();
        let user = Id::parse(&"1b".repeat(16)).unwrap();
        let challenge = RegistrationChallenge::from_bytes([0xc3; 32]);
        let message = registration_message(&organisation, &user, &challenge);
        let expected = [
            b"haven device registration v1\n".as_slice(),
            "0a".repeat(16).as_bytes(),
            b"\n",
            "1b".repeat(16).as_bytes(),
            b"\n",
            &[0xc3_u8; 32],
        ]
        .concat();
        assert_eq!(message, expected);
        assert_eq!(message.len(), 127);
    }

    #[test]
    fn mls_bytes_are_base64_within_limits() {
        let bytes: MlsBytes = serde_json::from_str(r#""AAEC""#).unwrap();
        assert_eq!(bytes.as_bytes(), &[0, 1, 2]);
        for bad in ["\"\"", "\"AAE\"", "\"AA*C\"", "7"] {
            assert!(serde_json::from_str::<MlsBytes>(bad).is_err(), "{bad}");
        }
        assert!(MlsBytes::new(vec![0; MAX_MLS_MESSAGE_BYTES + 1]).is_err());
        let max = String::from(MlsBytes::new(vec![7; MAX_MLS_MESSAGE_BYTES]).unwrap());
        assert!(MlsBytes::try_from(max).is_ok());
    }
}
