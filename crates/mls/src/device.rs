//! One device: its signature key, its certificate, its KeyPackages and its conversations.
//!
//! Trust: the device believes a member only through [`Trust`], checks the certificate of
//! every leaf that enters a group (by Add, by Welcome, by Update or commit path), checks
//! the sender of every message against the revocation list, and enforces Haven's rules
//! for who may change a conversation before it merges anything. A change the server did
//! not accept is never merged; a change that lost the race is kept as an intent and
//! rebuilt on top of the winner, so it still happens.

use std::collections::{BTreeMap, BTreeSet};

use haven_protocol::access::Role;
use haven_protocol::identity::Id;
use haven_protocol::messaging::{
    RegistrationChallenge, RegistrationSignature, registration_message,
};
use openmls::prelude::{
    BasicCredential, Capabilities, ContentType, Credential, CredentialWithKey, ExtensionType,
    GroupId, KeyPackage, LeafNode, LeafNodeIndex, Lifetime, MlsGroup, MlsGroupCreateConfig,
    MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageOut, PURE_PLAINTEXT_WIRE_FORMAT_POLICY,
    ProcessedMessageContent, ProtocolMessage, Sender, SenderRatchetConfiguration, SignatureScheme,
    StagedCommit, StagedWelcome, tls_codec::Serialize as _,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_traits::OpenMlsProvider as _;
use openmls_traits::signatures::Signer as _;
use serde::{Deserialize, Serialize};

use crate::cert::{CertificateBody, DeviceCertificate, Trust};
use crate::error::{Error, Result};
use crate::provider::Provider;
use crate::wire::{parse, validate_key_package};
use crate::{CIPHERSUITE, KEY_PACKAGE_LIFETIME_SECS};

/// Application messages from this many epochs back still decrypt: a message sent just
/// before someone else's commit is ordered after it by the server. The Delivery Service
/// refuses older ones.
pub const MAX_PAST_EPOCHS: usize = 8;
/// Messages of one sender may arrive this far out of order within an epoch.
const OUT_OF_ORDER_TOLERANCE: u32 = 32;
const MAX_FORWARD_DISTANCE: u32 = 10_000;
/// Ciphertexts are padded to a multiple of this, so lengths say less about content.
const PADDING: usize = 64;

/// A member as people see it: the verified name and role from its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub device: Id,
    pub user: Id,
    pub role: Role,
    pub name: String,
    pub leaf: u32,
}

impl Member {
    fn new(body: &CertificateBody, leaf: LeafNodeIndex) -> Self {
        Self {
            device: body.device.clone(),
            user: body.user.clone(),
            role: body.role,
            name: body.name.clone(),
            leaf: leaf.u32(),
        }
    }
}

/// A change to send to the server. It is merged only once the server accepts it
/// ([`Device::confirm`]); if another change won the epoch, [`Device::lost_race`].
#[derive(Clone)]
pub struct Commit {
    pub conversation: Vec<u8>,
    /// The epoch the commit applies to; the server accepts it only at that epoch.
    pub epoch: u64,
    pub commit: Vec<u8>,
    /// For the devices added, if any.
    pub welcome: Option<Vec<u8>>,
    /// The group's first commit only: its `GroupInfo` at epoch 0 with the ratchet tree,
    /// which the Delivery Service starts its public view from (see [`crate::public`]).
    pub group_info: Option<Vec<u8>>,
    pub added: Vec<Id>,
    pub removed: Vec<Id>,
}

impl std::fmt::Debug for Commit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commit")
            .field("epoch", &self.epoch)
            .field("added", &self.added)
            .field("removed", &self.removed)
            .finish_non_exhaustive()
    }
}

/// What one message from the server meant.
#[derive(Clone, PartialEq, Eq)]
pub enum Received {
    Message {
        sender: Member,
        body: Vec<u8>,
    },
    Committed {
        by: Member,
        added: Vec<Member>,
        removed: Vec<Member>,
        /// This device was removed: the conversation is closed here.
        removed_me: bool,
        epoch: u64,
    },
    /// This device's own change came back (after a restart before the server's answer
    /// arrived): it is now merged.
    OwnCommitMerged {
        epoch: u64,
    },
    /// This device's own application message came back: nothing to show again.
    OwnMessage,
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Message { sender, body } => f
                .debug_struct("Message")
                .field("sender", &sender.device)
                .field("bytes", &body.len())
                .finish(),
            Self::Committed {
                added,
                removed,
                removed_me,
                epoch,
                ..
            } => f
                .debug_struct("Committed")
                .field("added", &added.len())
                .field("removed", &removed.len())
                .field("removed_me", removed_me)
                .field("epoch", epoch)
                .finish(),
            Self::OwnCommitMerged { epoch } => write!(f, "OwnCommitMerged({epoch})"),
            Self::OwnMessage => f.write_str("OwnMessage"),
        }
    }
}

/// A change this device wants made, kept until it lands.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Intent {
    Add(Vec<Vec<u8>>),
    Remove(Vec<Id>),
    /// A commit with a fresh path and nothing else: new keys for this device
    /// (post-compromise security), and a full tree.
    Update,
}

/// What a snapshot holds beside the openmls store.
#[derive(Serialize, Deserialize)]
struct Meta {
    signature_key: Vec<u8>,
    certificate: Option<Vec<u8>>,
    conversations: Vec<(Vec<u8>, Option<Intent>)>,
}

struct Conversation {
    group: MlsGroup,
    intent: Option<Intent>,
}

pub struct Device {
    provider: Provider,
    signer: SignatureKeyPair,
    certificate: Option<DeviceCertificate>,
    conversations: BTreeMap<Vec<u8>, Conversation>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("certificate", &self.certificate)
            .field("conversations", &self.conversations.len())
            .finish_non_exhaustive()
    }
}

/// The certificate inside a credential, if it is a Haven one.
pub(crate) fn leaf_certificate(credential: &Credential) -> Result<DeviceCertificate> {
    let basic = BasicCredential::try_from(credential.clone())
        .map_err(|_| crate::cert::CertificateError::Missing)?;
    Ok(DeviceCertificate::decode(basic.identity())?)
}

fn check_leaf(leaf: &LeafNode, trust: &Trust, now: Option<u64>) -> Result<DeviceCertificate> {
    let certificate = leaf_certificate(leaf.credential())?;
    trust.check(&certificate, leaf.signature_key().as_slice(), now)?;
    Ok(certificate)
}

fn create_config() -> MlsGroupCreateConfig {
    MlsGroupCreateConfig::builder()
        .ciphersuite(CIPHERSUITE)
        .use_ratchet_tree_extension(true)
        .wire_format_policy(PURE_PLAINTEXT_WIRE_FORMAT_POLICY)
        .max_past_epochs(MAX_PAST_EPOCHS)
        .padding_size(PADDING)
        .sender_ratchet_configuration(SenderRatchetConfiguration::new(
            OUT_OF_ORDER_TOLERANCE,
            MAX_FORWARD_DISTANCE,
        ))
        .build()
}

fn join_config() -> MlsGroupJoinConfig {
    MlsGroupJoinConfig::builder()
        .use_ratchet_tree_extension(true)
        .wire_format_policy(PURE_PLAINTEXT_WIRE_FORMAT_POLICY)
        .max_past_epochs(MAX_PAST_EPOCHS)
        .padding_size(PADDING)
        .sender_ratchet_configuration(SenderRatchetConfiguration::new(
            OUT_OF_ORDER_TOLERANCE,
            MAX_FORWARD_DISTANCE,
        ))
        .build()
}

/// Haven's rule for who may change a conversation. Clinicians may add and remove anyone
/// who may converse. Anyone else may add only devices of people already in the
/// conversation (their own new devices, say), and remove only their own devices or
/// devices the server has revoked.
fn authorise(
    committer: &CertificateBody,
    added: &[CertificateBody],
    removed: &[CertificateBody],
    users_before: &BTreeSet<Id>,
    trust: &Trust,
) -> Result<()> {
    if committer.role == Role::Clinician {
        return Ok(());
    }
    for body in added {
        if !users_before.contains(&body.user) {
            return Err(Error::Refused(format!(
                "a {} may not add a new person to a conversation",
                committer.role
            )));
        }
    }
    for body in removed {
        if body.user != committer.user && !trust.revoked.contains(&body.device) {
            return Err(Error::Refused(format!(
                "a {} may not remove another person from a conversation",
                committer.role
            )));
        }
    }
    Ok(())
}

fn serialize(message: &MlsMessageOut) -> Result<Vec<u8>> {
    message.tls_serialize_detached().map_err(Error::internal)
}

impl Device {
    /// Benchmarks only: from now on this device's message secrets are written as JSON,
    /// as the earlier store did (the reference for the binary form).
    #[cfg(feature = "bench")]
    pub fn keep_message_secrets_as_json(&mut self) {
        self.provider.keep_message_secrets_as_json();
    }

    /// A new device with a fresh Ed25519 key; it needs a certificate before it can do
    /// anything with others.
    pub fn new() -> Result<Self> {
        let provider = Provider::default();
        let signer = SignatureKeyPair::new(SignatureScheme::ED25519).map_err(Error::internal)?;
        signer.store(provider.storage()).map_err(Error::internal)?;
        Ok(Self {
            provider,
            signer,
            certificate: None,
            conversations: BTreeMap::new(),
        })
    }

    /// The public key the server certifies.
    pub fn signature_key(&self) -> &[u8] {
        self.signer.public()
    }

    /// This device's proof, for `POST /api/mls/devices`, that it holds the private half of
    /// [`Device::signature_key`]: its signature over the registration message of the
    /// server's `challenge` for `user` of `organisation`.
    pub fn sign_registration(
        &self,
        organisation: &Id,
        user: &Id,
        challenge: &RegistrationChallenge,
    ) -> Result<RegistrationSignature> {
        let message = registration_message(organisation, user, challenge);
        let signature: [u8; RegistrationSignature::BYTES] = self
            .signer
            .sign(&message)
            .map_err(Error::internal)?
            .try_into()
            .map_err(Error::internal)?;
        Ok(RegistrationSignature::from_bytes(signature))
    }

    /// Installs the server's certificate for this device after checking it.
    pub fn certify(&mut self, encoded: &[u8], trust: &Trust, now: u64) -> Result<()> {
        let certificate = DeviceCertificate::decode(encoded)?;
        if certificate.body().signature_key != crate::cert::encode_key(self.signer.public()) {
            return Err(Error::NotMyCertificate);
        }
        trust.check(&certificate, self.signer.public(), Some(now))?;
        self.certificate = Some(certificate);
        Ok(())
    }

    pub fn certificate(&self) -> Option<&DeviceCertificate> {
        self.certificate.as_ref()
    }

    /// This device as a member of its conversations (leaf unknown: `u32::MAX`).
    pub fn me(&self) -> Result<Member> {
        let body = self.own_body()?;
        Ok(Member {
            device: body.device.clone(),
            user: body.user.clone(),
            role: body.role,
            name: body.name.clone(),
            leaf: u32::MAX,
        })
    }

    fn credential(&self) -> Result<CredentialWithKey> {
        let certificate = self.certificate.as_ref().ok_or(Error::NotMyCertificate)?;
        Ok(CredentialWithKey {
            credential: BasicCredential::new(certificate.encoded().to_vec()).into(),
            signature_key: self.signer.public().into(),
        })
    }

    /// `count` one-time KeyPackages, encoded for upload; their private keys stay here.
    pub fn key_packages(&mut self, count: usize) -> Result<Vec<Vec<u8>>> {
        (0..count).map(|_| self.key_package(false)).collect()
    }

    /// The KeyPackage the directory hands out when the one-time ones are gone.
    pub fn last_resort_key_package(&mut self) -> Result<Vec<u8>> {
        self.key_package(true)
    }

    fn key_package(&mut self, last_resort: bool) -> Result<Vec<u8>> {
        self.key_package_lifetime(last_resort, Lifetime::new(KEY_PACKAGE_LIFETIME_SECS))
    }

    #[doc(hidden)]
    /// For tests of the directory: a KeyPackage valid from `not_before` to `not_after`
    /// (Unix seconds).
    pub fn key_package_with_lifetime(
        &mut self,
        last_resort: bool,
        not_before: u64,
        not_after: u64,
    ) -> Result<Vec<u8>> {
        self.key_package_lifetime(last_resort, Lifetime::init(not_before, not_after))
    }

    fn key_package_lifetime(&mut self, last_resort: bool, lifetime: Lifetime) -> Result<Vec<u8>> {
        let credential = self.credential()?;
        let mut builder = KeyPackage::builder()
            .key_package_lifetime(lifetime)
            .leaf_node_capabilities(
                Capabilities::builder()
                    .extensions(vec![ExtensionType::LastResort])
                    .build(),
            );
        if last_resort {
            builder = builder.mark_as_last_resort();
        }
        let bundle = builder
            .build(CIPHERSUITE, &self.provider, &self.signer, credential)
            .map_err(Error::internal)?;
        serialize(&MlsMessageOut::from(bundle.key_package().clone()))
    }

    fn conversation(&self, id: &[u8]) -> Result<&Conversation> {
        self.conversations.get(id).ok_or(Error::UnknownConversation)
    }

    fn conversation_mut(&mut self, id: &[u8]) -> Result<&mut Conversation> {
        self.conversations
            .get_mut(id)
            .ok_or(Error::UnknownConversation)
    }

    /// Starts a conversation with this device as its only member.
    pub fn create(&mut self, id: &[u8]) -> Result<()> {
        if self.conversations.contains_key(id) {
            return Err(Error::ConversationExists);
        }
        let credential = self.credential()?;
        let group = MlsGroup::new_with_group_id(
            &self.provider,
            &self.signer,
            &create_config(),
            GroupId::from_slice(id),
            credential,
        )
        .map_err(Error::internal)?;
        self.conversations.insert(
            id.to_vec(),
            Conversation {
                group,
                intent: None,
            },
        );
        Ok(())
    }

    /// The conversation's `GroupInfo` with its ratchet tree, as an `MLSMessage`: what
    /// the Delivery Service starts its public view of the group from (see
    /// [`crate::public`]), sent with the first commit.
    pub fn group_info(&self, id: &[u8]) -> Result<Vec<u8>> {
        let group = &self.conversation(id)?.group;
        let info = group
            .export_group_info(self.provider.crypto(), &self.signer, true)
            .map_err(Error::internal)?;
        info.tls_serialize_detached().map_err(Error::internal)
    }

    pub fn conversations(&self) -> impl Iterator<Item = &[u8]> {
        self.conversations.keys().map(Vec::as_slice)
    }

    pub fn epoch(&self, id: &[u8]) -> Result<u64> {
        Ok(self.conversation(id)?.group.epoch().as_u64())
    }

    /// The members and whether each still checks out under `trust` (revocations land
    /// here first, before the Remove commit does).
    pub fn members(
        &self,
        id: &[u8],
        trust: &Trust,
    ) -> Result<Vec<(Member, Result<(), crate::CertificateError>)>> {
        let group = &self.conversation(id)?.group;
        group
            .members()
            .map(|m| {
                let certificate = leaf_certificate(&m.credential)?;
                let status = trust.check(&certificate, &m.signature_key, None);
                Ok((Member::new(certificate.body(), m.index), status))
            })
            .collect()
    }

    fn own_body(&self) -> Result<&CertificateBody> {
        Ok(self
            .certificate
            .as_ref()
            .ok_or(Error::NotMyCertificate)?
            .body())
    }

    /// Adds the devices whose KeyPackages are given. Every KeyPackage is checked, and
    /// the commit carries a path, so the tree stays full.
    pub fn add(
        &mut self,
        id: &[u8],
        key_packages: &[Vec<u8>],
        trust: &Trust,
        now: u64,
    ) -> Result<Commit> {
        self.stage(id, Intent::Add(key_packages.to_vec()), trust, now)
    }

    /// Removes every leaf of the given devices.
    pub fn remove(&mut self, id: &[u8], devices: &[Id], trust: &Trust) -> Result<Commit> {
        self.stage(id, Intent::Remove(devices.to_vec()), trust, 0)
    }

    /// Rotates this device's keys in the conversation: a commit with a path only.
    pub fn update(&mut self, id: &[u8], trust: &Trust) -> Result<Commit> {
        self.stage(id, Intent::Update, trust, 0)
    }

    fn stage(&mut self, id: &[u8], intent: Intent, trust: &Trust, now: u64) -> Result<Commit> {
        let committer = self.own_body()?.clone();
        let conversation = self.conversation(id)?;
        if conversation.group.pending_commit().is_some() {
            return Err(Error::CommitPending);
        }
        let group = &conversation.group;
        let mut users_before = BTreeSet::new();
        let mut leaves: BTreeMap<Id, (LeafNodeIndex, CertificateBody)> = BTreeMap::new();
        for member in group.members() {
            let certificate = leaf_certificate(&member.credential)?;
            users_before.insert(certificate.body().user.clone());
            leaves.insert(
                certificate.body().device.clone(),
                (member.index, certificate.body().clone()),
            );
        }
        let mut add = Vec::new();
        let mut added = Vec::new();
        let mut remove = Vec::new();
        let mut removed = Vec::new();
        match &intent {
            Intent::Add(encoded) => {
                for bytes in encoded {
                    let key_package = validate_key_package(self.provider.crypto(), bytes)?;
                    let leaf = key_package.leaf_node();
                    let certificate = check_leaf(leaf, trust, Some(now))?;
                    // Already in (a retried change that the winner also made): skip it.
                    if leaves.contains_key(&certificate.body().device) {
                        continue;
                    }
                    added.push(certificate.body().clone());
                    add.push(key_package);
                }
            }
            Intent::Remove(devices) => {
                for device in devices {
                    if let Some((leaf, body)) = leaves.get(device)
                        && device != &committer.device
                    {
                        remove.push(*leaf);
                        removed.push(body.clone());
                    }
                }
            }
            Intent::Update => {}
        }
        if add.is_empty() && remove.is_empty() && !matches!(intent, Intent::Update) {
            return Err(Error::NothingToDo);
        }
        authorise(&committer, &added, &removed, &users_before, trust)?;
        let epoch = self.epoch(id)?;
        let group_info = if epoch == 0 {
            Some(self.group_info(id)?)
        } else {
            None
        };
        let provider = &self.provider;
        let signer = &self.signer;
        let conversation = self
            .conversations
            .get_mut(id)
            .ok_or(Error::UnknownConversation)?;
        let bundle = conversation
            .group
            .commit_builder()
            .propose_adds(add)
            .propose_removals(remove)
            .force_self_update(true)
            .load_psks(provider.storage())
            .map_err(Error::internal)?
            .build(provider.rand(), provider.crypto(), signer, |_| true)
            .map_err(Error::refused)?
            .stage_commit(provider)
            .map_err(Error::refused)?;
        let welcome = bundle.to_welcome_msg();
        let commit = serialize(bundle.commit())?;
        let welcome = welcome.as_ref().map(serialize).transpose()?;
        conversation.intent = Some(intent);
        Ok(Commit {
            conversation: id.to_vec(),
            epoch,
            commit,
            welcome,
            group_info,
            added: added.into_iter().map(|b| b.device).collect(),
            removed: removed.into_iter().map(|b| b.device).collect(),
        })
    }

    /// The server accepted this device's pending change: merge it.
    pub fn confirm(&mut self, id: &[u8]) -> Result<u64> {
        let provider = &self.provider;
        let conversation = self
            .conversations
            .get_mut(id)
            .ok_or(Error::UnknownConversation)?;
        if conversation.group.pending_commit().is_none() {
            return Err(Error::NoCommitPending);
        }
        conversation
            .group
            .merge_pending_commit(provider)
            .map_err(Error::internal)?;
        conversation.intent = None;
        Ok(conversation.group.epoch().as_u64())
    }

    /// The server refused this device's pending change because another one won the
    /// epoch. The change is kept; once the winner has been received, [`Device::retry`]
    /// rebuilds it on the new epoch.
    pub fn lost_race(&mut self, id: &[u8]) -> Result<()> {
        let provider = &self.provider;
        let conversation = self
            .conversations
            .get_mut(id)
            .ok_or(Error::UnknownConversation)?;
        conversation
            .group
            .clear_pending_commit(provider.storage())
            .map_err(Error::internal)
    }

    /// Rebuilds a change that lost the race, leaving out whatever the winner already
    /// did. `Ok(None)`: nothing is left to do.
    pub fn retry(&mut self, id: &[u8], trust: &Trust, now: u64) -> Result<Option<Commit>> {
        let Some(intent) = self.conversation_mut(id)?.intent.take() else {
            return Ok(None);
        };
        match self.stage(id, intent, trust, now) {
            Ok(commit) => Ok(Some(commit)),
            Err(Error::NothingToDo) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The server refused this device's pending change outright (not for losing a race):
    /// drop it, so later changes are not held up behind it.
    pub fn abandon(&mut self, id: &[u8]) -> Result<()> {
        let provider = &self.provider;
        let conversation = self
            .conversations
            .get_mut(id)
            .ok_or(Error::UnknownConversation)?;
        conversation.intent = None;
        conversation
            .group
            .clear_pending_commit(provider.storage())
            .map_err(Error::internal)
    }

    /// Whether a change of this device's is waiting (sent or to be retried).
    pub fn has_intent(&self, id: &[u8]) -> Result<bool> {
        Ok(self.conversation(id)?.intent.is_some())
    }

    /// Encrypts an application message for everyone in the conversation.
    pub fn send(&mut self, id: &[u8], body: &[u8]) -> Result<Vec<u8>> {
        let provider = &self.provider;
        let signer = &self.signer;
        let conversation = self
            .conversations
            .get_mut(id)
            .ok_or(Error::UnknownConversation)?;
        if !conversation.group.is_active() {
            return Err(Error::NotAMember);
        }
        let message = conversation
            .group
            .create_message(provider, signer, body)
            .map_err(Error::refused)?;
        serialize(&message)
    }

    /// Joins a conversation from a Welcome, after checking every member's certificate
    /// and that whoever added this device was allowed to.
    pub fn join(&mut self, welcome: &[u8], trust: &Trust, now: u64) -> Result<Vec<u8>> {
        let own = self.own_body()?.clone();
        let MlsMessageBodyIn::Welcome(welcome) = parse(welcome)?.extract() else {
            return Err(Error::Malformed);
        };
        if welcome.ciphersuite() != CIPHERSUITE {
            return Err(Error::WrongCiphersuite);
        }
        let staged = StagedWelcome::new_from_welcome(&self.provider, &join_config(), welcome, None)
            .map_err(Error::refused)?;
        let id = staged.group_context().group_id().as_slice().to_vec();
        if self.conversations.contains_key(&id) {
            return Err(Error::ConversationExists);
        }
        let mut users_before = BTreeSet::new();
        for member in staged.members() {
            let certificate = leaf_certificate(&member.credential)?;
            trust.check(&certificate, &member.signature_key, None)?;
            if certificate.body().device != own.device {
                users_before.insert(certificate.body().user.clone());
            }
        }
        let sender = staged.welcome_sender().map_err(Error::internal)?;
        let sender = check_leaf(sender, trust, None)?;
        authorise(sender.body(), &[own], &[], &users_before, trust)?;
        let _ = now;
        let group = staged.into_group(&self.provider).map_err(Error::refused)?;
        self.conversations.insert(
            id.clone(),
            Conversation {
                group,
                intent: None,
            },
        );
        Ok(id)
    }

    /// Processes one message the server delivered for conversation `id`.
    pub fn receive(
        &mut self,
        id: &[u8],
        message: &[u8],
        trust: &Trust,
        now: u64,
    ) -> Result<Received> {
        let protocol: ProtocolMessage = match parse(message)?.extract() {
            MlsMessageBodyIn::PrivateMessage(m) => m.into(),
            MlsMessageBodyIn::PublicMessage(m) => m.into(),
            _ => return Err(Error::Malformed),
        };
        if protocol.group_id().as_slice() != id {
            return Err(Error::WrongConversation);
        }
        let provider = &self.provider;
        let conversation = self
            .conversations
            .get_mut(id)
            .ok_or(Error::UnknownConversation)?;
        let group = &mut conversation.group;
        if !group.is_active() {
            return Err(Error::NotAMember);
        }
        let current = group.epoch().as_u64();
        let epoch = protocol.epoch().as_u64();
        let handshake = protocol.content_type() != ContentType::Application;
        if epoch > current {
            return Err(Error::FutureEpoch {
                message: epoch,
                current,
            });
        }
        if handshake && epoch < current {
            return Err(Error::StaleEpoch {
                message: epoch,
                current,
            });
        }
        let processed = group
            .process_message(provider, protocol)
            .map_err(Error::refused)?;
        let sender_leaf = match processed.sender() {
            Sender::Member(leaf) => *leaf,
            _ => return Err(Error::Refused("only members may send".into())),
        };
        let sender_certificate = leaf_certificate(processed.credential())?;
        match processed.into_content() {
            // Its own commit, fanned out by the server (a `PublicMessage` now): merged.
            ProcessedMessageContent::OwnPendingCommit => {
                group
                    .merge_pending_commit(provider)
                    .map_err(Error::internal)?;
                conversation.intent = None;
                Ok(Received::OwnCommitMerged {
                    epoch: conversation.group.epoch().as_u64(),
                })
            }
            // Only application messages are private (a handshake sent as a
            // `PrivateMessage` is refused above by the wire format policy).
            ProcessedMessageContent::OwnPrivateMessage => Ok(Received::OwnMessage),
            ProcessedMessageContent::ApplicationMessage(message) => {
                let key = group
                    .member_at(sender_leaf)
                    .map(|m| m.signature_key)
                    .ok_or(Error::Refused("the sender is not a member".into()))?;
                trust.check(&sender_certificate, &key, None)?;
                Ok(Received::Message {
                    sender: Member::new(sender_certificate.body(), sender_leaf),
                    body: message.into_bytes(),
                })
            }
            ProcessedMessageContent::StagedCommitMessage(staged) => {
                let (added, removed) =
                    Self::check_commit(group, &staged, &sender_certificate, trust, now)?;
                let removed_me = staged.self_removed();
                // A change of ours that lost to this one stays as an intent for retry.
                group
                    .merge_staged_commit(provider, *staged)
                    .map_err(Error::refused)?;
                Ok(Received::Committed {
                    by: Member::new(sender_certificate.body(), sender_leaf),
                    added,
                    removed,
                    removed_me,
                    epoch: group.epoch().as_u64(),
                })
            }
            ProcessedMessageContent::ProposalMessage(_)
            | ProcessedMessageContent::ExternalJoinProposalMessage(_) => Err(Error::Refused(
                "proposals on their own are not used in Haven conversations".into(),
            )),
            #[allow(unreachable_patterns)]
            _ => Err(Error::Refused("unsupported message".into())),
        }
    }

    /// Checks a commit someone else made before it is merged: every new leaf's
    /// certificate, the committer's standing, and Haven's rule for who may change what.
    fn check_commit(
        group: &MlsGroup,
        staged: &StagedCommit,
        committer: &DeviceCertificate,
        trust: &Trust,
        now: u64,
    ) -> Result<(Vec<Member>, Vec<Member>)> {
        let committer_key = staged
            .update_path_leaf_node()
            .map(|l| l.signature_key().as_slice().to_vec());
        if let Some(key) = &committer_key {
            trust.check(committer, key, None)?;
        }
        let mut users_before = BTreeSet::new();
        for member in group.members() {
            let certificate = leaf_certificate(&member.credential)?;
            users_before.insert(certificate.body().user.clone());
        }
        let mut added = Vec::new();
        let mut added_bodies = Vec::new();
        for proposal in staged.add_proposals() {
            let leaf = proposal.add_proposal().key_package().leaf_node();
            let certificate = check_leaf(leaf, trust, Some(now))?;
            added_bodies.push(certificate.body().clone());
        }
        for proposal in staged.update_proposals() {
            check_leaf(proposal.update_proposal().leaf_node(), trust, Some(now))?;
        }
        if let Some(leaf) = staged.update_path_leaf_node() {
            check_leaf(leaf, trust, None)?;
        }
        let mut removed = Vec::new();
        let mut removed_bodies = Vec::new();
        for proposal in staged.remove_proposals() {
            let index = proposal.remove_proposal().removed();
            let member = group
                .member(index)
                .ok_or(Error::Refused("the commit removes nobody".into()))?;
            let certificate = leaf_certificate(member)?;
            removed.push(Member::new(certificate.body(), index));
            removed_bodies.push(certificate.body().clone());
        }
        authorise(
            committer.body(),
            &added_bodies,
            &removed_bodies,
            &users_before,
            trust,
        )?;
        // Leaf indexes of the added members are known only after the merge; the
        // caller reads them from `members` if it needs them.
        for body in added_bodies {
            added.push(Member {
                device: body.device,
                user: body.user,
                role: body.role,
                name: body.name,
                leaf: u32::MAX,
            });
        }
        Ok((added, removed))
    }

    /// A short code both sides can read aloud: the same for every member at the same
    /// epoch, different for anyone in a different group state.
    pub fn verification_code(&self, id: &[u8]) -> Result<String> {
        let authenticator = self.conversation(id)?.group.epoch_authenticator();
        Ok(verification_code(authenticator.as_slice()))
    }

    /// A secret derived from the conversation's current epoch, for keys of its own
    /// (history archives, media).
    pub fn export_secret(&self, id: &[u8], label: &str, length: usize) -> Result<Vec<u8>> {
        self.conversation(id)?
            .group
            .export_secret(self.provider.crypto(), label, &[], length)
            .map_err(Error::internal)
    }

    /// The whole device, as bytes to be kept encrypted at rest.
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let meta = Meta {
            signature_key: self.signer.public().to_vec(),
            certificate: self.certificate.as_ref().map(|c| c.encoded().to_vec()),
            conversations: self
                .conversations
                .iter()
                .map(|(id, c)| (id.clone(), c.intent.clone()))
                .collect(),
        };
        let meta = serde_json::to_vec(&meta).map_err(Error::internal)?;
        let mut out = Vec::new();
        out.extend_from_slice(SNAPSHOT_MAGIC);
        push_bytes(&mut out, &meta)?;
        push_store(&mut out, &self.provider)?;
        Ok(out)
    }

    /// A device as [`Device::snapshot`] left it.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader(bytes);
        if reader.take(SNAPSHOT_MAGIC.len())? != SNAPSHOT_MAGIC {
            return Err(Error::BadSnapshot);
        }
        let meta: Meta = serde_json::from_slice(reader.bytes()?).map_err(|_| Error::BadSnapshot)?;
        let provider = read_store(reader)?;
        let signer = SignatureKeyPair::read(
            provider.storage(),
            &meta.signature_key,
            SignatureScheme::ED25519,
        )
        .ok_or(Error::BadSnapshot)?;
        let certificate = meta
            .certificate
            .map(|c| DeviceCertificate::decode(&c))
            .transpose()
            .map_err(|_| Error::BadSnapshot)?;
        let mut conversations = BTreeMap::new();
        for (id, intent) in meta.conversations {
            let group = MlsGroup::load(provider.storage(), &GroupId::from_slice(&id))
                .map_err(|_| Error::BadSnapshot)?
                .ok_or(Error::BadSnapshot)?;
            conversations.insert(id, Conversation { group, intent });
        }
        Ok(Self {
            provider,
            signer,
            certificate,
            conversations,
        })
    }
}

const SNAPSHOT_MAGIC: &[u8] = b"haven-mls-device-1\n";

pub(crate) fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    out.extend_from_slice(
        &u32::try_from(bytes.len())
            .map_err(Error::internal)?
            .to_be_bytes(),
    );
    out.extend_from_slice(bytes);
    Ok(())
}

/// Every key and value of `provider`'s store, counted, as a snapshot's tail.
pub(crate) fn push_store(out: &mut Vec<u8>, provider: &Provider) -> Result<()> {
    let pairs = provider.export()?;
    out.extend_from_slice(
        &u32::try_from(pairs.len())
            .map_err(Error::internal)?
            .to_be_bytes(),
    );
    for (k, v) in &pairs {
        push_bytes(out, k)?;
        push_bytes(out, v)?;
    }
    Ok(())
}

/// The store [`push_store`] wrote, which must end the snapshot.
pub(crate) fn read_store(mut reader: Reader<'_>) -> Result<Provider> {
    let count = u32::from_be_bytes(reader.take(4)?.try_into().map_err(|_| Error::BadSnapshot)?);
    let mut pairs = Vec::new();
    for _ in 0..count {
        let k = reader.bytes()?.to_vec();
        let v = reader.bytes()?.to_vec();
        pairs.push((k, v));
    }
    if !reader.0.is_empty() {
        return Err(Error::BadSnapshot);
    }
    Ok(Provider::import(pairs))
}

pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(Error::BadSnapshot);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = u32::from_be_bytes(self.take(4)?.try_into().map_err(|_| Error::BadSnapshot)?);
        self.take(len as usize)
    }
}

/// Twelve digits in three groups, from the first eight bytes of the authenticator.
pub(crate) fn verification_code(authenticator: &[u8]) -> String {
    let mut first = [0u8; 8];
    for (slot, byte) in first.iter_mut().zip(authenticator) {
        *slot = *byte;
    }
    let n = u64::from_be_bytes(first) % 1_000_000_000_000;
    let digits = format!("{n:012}");
    format!("{} {} {}", &digits[0..4], &digits[4..8], &digits[8..12])
}
