//! The Delivery Service's view of a conversation (issue 22, item 3): the group's public
//! state (RFC 9420 §16.2; openmls's `PublicGroup`), enough to check every commit before
//! it is sequenced, and to learn from the commit itself which devices join and which
//! leave, without any secret of the group. Commits travel as `PublicMessage`s for this;
//! application messages stay `PrivateMessage`s.

use haven_protocol::identity::Id;
use openmls::group::PublicGroup;
use openmls::prelude::{
    GroupId, LeafNodeIndex, MlsMessageBodyIn, ProcessedMessageContent, ProposalStore,
    ProtocolMessage, Sender,
};
use openmls_traits::OpenMlsProvider as _;

use crate::cert::Trust;
use crate::device::{Reader, leaf_certificate, push_bytes, push_store, read_store};
use crate::error::{Error, Result};
use crate::provider::Provider;
use crate::wire::parse;

const PUBLIC_MAGIC: &[u8] = b"haven-mls-public-1\n";

/// What a valid commit changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The epoch it moved the conversation to.
    pub epoch: u64,
    /// The device that made it (its signature says so).
    pub by: Id,
    pub added: Vec<Id>,
    pub removed: Vec<Id>,
}

/// One conversation's public group state.
pub struct PublicConversation {
    provider: Provider,
    group: PublicGroup,
}

impl PublicConversation {
    /// Starts from the creator's `GroupInfo` (an `MLSMessage` with the ratchet tree in
    /// its extension) at epoch 0, for the conversation `id`: a group of one, the
    /// creator's device, certified under `trust`.
    pub fn start(
        group_info: &[u8],
        id: &[u8],
        creator: &Id,
        trust: &Trust,
        now: u64,
    ) -> Result<Self> {
        let MlsMessageBodyIn::GroupInfo(info) = parse(group_info)?.extract() else {
            return Err(Error::Malformed);
        };
        if info.group_id().as_slice() != id || info.epoch().as_u64() != 0 {
            return Err(Error::Malformed);
        }
        let tree = info
            .extensions()
            .ratchet_tree()
            .map(|t| t.ratchet_tree().clone())
            .ok_or(Error::Malformed)?;
        let provider = Provider::default();
        let (group, _) = PublicGroup::from_external(
            provider.crypto(),
            provider.storage(),
            tree,
            info,
            ProposalStore::new(),
        )
        .map_err(|_| Error::Malformed)?;
        let members: Vec<_> = group.members().collect();
        let [only] = members.as_slice() else {
            return Err(Error::Malformed);
        };
        let certificate = leaf_certificate(&only.credential)?;
        trust.check(&certificate, only.signature_key.as_slice(), Some(now))?;
        if &certificate.body().device != creator {
            return Err(Error::Malformed);
        }
        Ok(Self { provider, group })
    }

    /// The view as bytes, for the store: the group's id and openmls's public state.
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let mut out = PUBLIC_MAGIC.to_vec();
        push_bytes(&mut out, self.group.group_id().as_slice())?;
        push_store(&mut out, &self.provider)?;
        Ok(out)
    }

    /// A view as [`PublicConversation::snapshot`] left it.
    pub fn restore(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader(bytes);
        if reader.take(PUBLIC_MAGIC.len())? != PUBLIC_MAGIC {
            return Err(Error::BadSnapshot);
        }
        let id = GroupId::from_slice(reader.bytes()?);
        let provider = read_store(reader)?;
        let group = PublicGroup::load(provider.storage(), &id)
            .map_err(|_| Error::BadSnapshot)?
            .ok_or(Error::BadSnapshot)?;
        Ok(Self { provider, group })
    }

    pub fn epoch(&self) -> u64 {
        self.group.group_context().epoch().as_u64()
    }

    /// The device of the member at `leaf`.
    fn device_at(&self, leaf: LeafNodeIndex) -> Result<Id> {
        let node = self.group.leaf(leaf).ok_or(Error::Malformed)?;
        Ok(leaf_certificate(node.credential())?.body().device.clone())
    }

    /// Checks `message`, a commit sent as a `PublicMessage` by a member, against the
    /// group (signature, membership tag, epoch, proposals, path), and applies it. Every
    /// device it adds must be certified under `trust`. Nothing changes if it is refused.
    pub fn commit(&mut self, message: &[u8], trust: &Trust, now: u64) -> Result<Changed> {
        let MlsMessageBodyIn::PublicMessage(public) = parse(message)?.extract() else {
            return Err(Error::Malformed);
        };
        let protocol: ProtocolMessage = public.into();
        if protocol.group_id() != &GroupId::from_slice(self.group.group_id().as_slice()) {
            return Err(Error::Malformed);
        }
        let processed = self
            .group
            .process_message(self.provider.crypto(), protocol)
            .map_err(|_| Error::Malformed)?;
        let Sender::Member(leaf) = *processed.sender() else {
            return Err(Error::Malformed);
        };
        let by = self.device_at(leaf)?;
        let ProcessedMessageContent::StagedCommitMessage(staged) = processed.into_content() else {
            return Err(Error::Malformed);
        };
        let mut added = Vec::new();
        for add in staged.add_proposals() {
            let leaf = add.add_proposal().key_package().leaf_node();
            let certificate = leaf_certificate(leaf.credential())?;
            trust.check(&certificate, leaf.signature_key().as_slice(), Some(now))?;
            added.push(certificate.body().device.clone());
        }
        let mut removed = Vec::new();
        for remove in staged.remove_proposals() {
            removed.push(self.device_at(remove.remove_proposal().removed())?);
        }
        self.group
            .merge_commit(self.provider.storage(), *staged)
            .map_err(Error::internal)?;
        Ok(Changed {
            epoch: self.epoch(),
            by,
            added,
            removed,
        })
    }
}
