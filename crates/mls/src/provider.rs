//! The openmls provider: RustCrypto for the primitives and an in-memory store whose whole
//! content can be taken out as bytes and put back, so the browser can keep it encrypted
//! in IndexedDB and the tests can restart a device.
//!
//! The store is openmls's in-memory one, which writes every value as JSON, except for two
//! kept in a compact binary form (postcard) instead:
//! - the message secrets (each epoch's secret tree and, for the past epochs kept for late
//!   messages, their member lists), which openmls writes again on every message sent or
//!   received: as JSON (bytes as arrays of numbers) they were most of a message's cost;
//! - the ratchet tree, the largest value of a group (and of the Delivery Service's public
//!   view of it), read and written with every commit.
//!
//! Values an earlier version kept as JSON are still read, and replaced at the next write.

use std::collections::HashMap;

use openmls_rust_crypto::{MemoryStorage, MemoryStorageError, RustCrypto};
use openmls_traits::OpenMlsProvider;
use openmls_traits::storage::{CURRENT_VERSION, StorageProvider, traits as st};

use crate::error::{Error, Result};

/// Labels of the values kept in binary form.
const SECRETS_LABEL: &[u8] = b"HavenMessageSecretsPostcard";
const TREE_LABEL: &[u8] = b"HavenTreePostcard";

#[derive(Default)]
pub(crate) struct Provider {
    crypto: RustCrypto,
    storage: Store,
}

/// openmls's in-memory store, with the message secrets in binary.
#[derive(Default)]
pub(crate) struct Store {
    inner: MemoryStorage,
    /// Benchmarks only: message secrets written as JSON, as the earlier store did, for
    /// the reference beside the binary form.
    #[cfg(feature = "bench")]
    json: bool,
}

impl OpenMlsProvider for Provider {
    type CryptoProvider = RustCrypto;
    type RandProvider = RustCrypto;
    type StorageProvider = Store;

    fn storage(&self) -> &Self::StorageProvider {
        &self.storage
    }
    fn crypto(&self) -> &Self::CryptoProvider {
        &self.crypto
    }
    fn rand(&self) -> &Self::RandProvider {
        &self.crypto
    }
}

impl Provider {
    /// Benchmarks only: see [`Store::json`].
    #[cfg(feature = "bench")]
    pub(crate) fn keep_message_secrets_as_json(&mut self) {
        self.storage.json = true;
    }

    /// Every stored key and value, sorted so equal stores give equal bytes.
    pub(crate) fn export(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let values = self
            .storage
            .inner
            .values
            .read()
            .map_err(|_| Error::Internal)?;
        let mut pairs: Vec<_> = values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        pairs.sort();
        Ok(pairs)
    }

    pub(crate) fn import(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        let inner = MemoryStorage::default();
        let map: HashMap<Vec<u8>, Vec<u8>> = pairs.into_iter().collect();
        if let Ok(mut values) = inner.values.write() {
            *values = map;
        }
        Self {
            crypto: RustCrypto::default(),
            storage: Store {
                inner,
                #[cfg(feature = "bench")]
                json: false,
            },
        }
    }
}

/// Where a value kept in binary form lives in the store: a label no value of openmls's
/// own starts with, the group id (postcard) and the storage version.
fn binary_key<GroupId: st::GroupId<CURRENT_VERSION>>(
    label: &[u8],
    group_id: &GroupId,
) -> std::result::Result<Vec<u8>, MemoryStorageError> {
    let mut key = label.to_vec();
    key.extend(
        postcard::to_allocvec(group_id).map_err(|_| MemoryStorageError::SerializationError)?,
    );
    key.extend(CURRENT_VERSION.to_be_bytes());
    Ok(key)
}

impl Store {
    fn put_binary(
        &self,
        key: Vec<u8>,
        value: &impl serde::Serialize,
    ) -> std::result::Result<(), MemoryStorageError> {
        let value =
            postcard::to_allocvec(value).map_err(|_| MemoryStorageError::SerializationError)?;
        self.inner
            .values
            .write()
            .map_err(|_| MemoryStorageError::SerializationError)?
            .insert(key, value);
        Ok(())
    }

    /// The value under `key`, if it is kept in binary form.
    fn get_binary<V: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> std::result::Result<Option<V>, MemoryStorageError> {
        let values = self
            .inner
            .values
            .read()
            .map_err(|_| MemoryStorageError::SerializationError)?;
        values
            .get(key)
            .map(|bytes| postcard::from_bytes(bytes))
            .transpose()
            .map_err(|_| MemoryStorageError::SerializationError)
    }

    fn remove_binary(&self, key: &[u8]) -> std::result::Result<(), MemoryStorageError> {
        self.inner
            .values
            .write()
            .map_err(|_| MemoryStorageError::SerializationError)?
            .remove(key);
        Ok(())
    }
}

impl StorageProvider<CURRENT_VERSION> for Store {
    type Error = MemoryStorageError;

    fn write_message_secrets<
        GroupId: st::GroupId<CURRENT_VERSION>,
        MessageSecrets: st::MessageSecrets<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        message_secrets: &MessageSecrets,
    ) -> std::result::Result<(), Self::Error> {
        let key = binary_key(SECRETS_LABEL, group_id)?;
        #[cfg(feature = "bench")]
        if self.json {
            self.remove_binary(&key)?;
            return self.inner.write_message_secrets(group_id, message_secrets);
        }
        self.put_binary(key, message_secrets)?;
        // What an earlier version kept as JSON is replaced.
        self.inner.delete_message_secrets(group_id)
    }

    fn message_secrets<
        GroupId: st::GroupId<CURRENT_VERSION>,
        MessageSecrets: st::MessageSecrets<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Option<MessageSecrets>, Self::Error> {
        match self.get_binary(&binary_key(SECRETS_LABEL, group_id)?)? {
            Some(secrets) => Ok(Some(secrets)),
            // Kept as JSON by an earlier version, or none.
            None => self.inner.message_secrets(group_id),
        }
    }

    fn delete_message_secrets<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.remove_binary(&binary_key(SECRETS_LABEL, group_id)?)?;
        self.inner.delete_message_secrets(group_id)
    }

    fn write_tree<
        GroupId: st::GroupId<CURRENT_VERSION>,
        TreeSync: st::TreeSync<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        tree: &TreeSync,
    ) -> std::result::Result<(), Self::Error> {
        self.put_binary(binary_key(TREE_LABEL, group_id)?, tree)?;
        self.inner.delete_tree(group_id)
    }

    fn tree<GroupId: st::GroupId<CURRENT_VERSION>, TreeSync: st::TreeSync<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Option<TreeSync>, Self::Error> {
        match self.get_binary(&binary_key(TREE_LABEL, group_id)?)? {
            Some(tree) => Ok(Some(tree)),
            None => self.inner.tree(group_id),
        }
    }

    fn delete_tree<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.remove_binary(&binary_key(TREE_LABEL, group_id)?)?;
        self.inner.delete_tree(group_id)
    }

    // Everything else as openmls's in-memory store keeps it.

    fn write_mls_join_config<
        GroupId: st::GroupId<CURRENT_VERSION>,
        MlsGroupJoinConfig: st::MlsGroupJoinConfig<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        config: &MlsGroupJoinConfig,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_mls_join_config::<GroupId, MlsGroupJoinConfig>(group_id, config)
    }

    fn append_own_leaf_node<
        GroupId: st::GroupId<CURRENT_VERSION>,
        LeafNode: st::LeafNode<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        leaf_node: &LeafNode,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .append_own_leaf_node::<GroupId, LeafNode>(group_id, leaf_node)
    }

    fn queue_proposal<
        GroupId: st::GroupId<CURRENT_VERSION>,
        ProposalRef: st::ProposalRef<CURRENT_VERSION>,
        QueuedProposal: st::QueuedProposal<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        proposal_ref: &ProposalRef,
        proposal: &QueuedProposal,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .queue_proposal::<GroupId, ProposalRef, QueuedProposal>(
                group_id,
                proposal_ref,
                proposal,
            )
    }

    fn write_interim_transcript_hash<
        GroupId: st::GroupId<CURRENT_VERSION>,
        InterimTranscriptHash: st::InterimTranscriptHash<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        interim_transcript_hash: &InterimTranscriptHash,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_interim_transcript_hash::<GroupId, InterimTranscriptHash>(
                group_id,
                interim_transcript_hash,
            )
    }

    fn write_context<
        GroupId: st::GroupId<CURRENT_VERSION>,
        GroupContext: st::GroupContext<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        group_context: &GroupContext,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_context::<GroupId, GroupContext>(group_id, group_context)
    }

    fn write_confirmation_tag<
        GroupId: st::GroupId<CURRENT_VERSION>,
        ConfirmationTag: st::ConfirmationTag<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        confirmation_tag: &ConfirmationTag,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_confirmation_tag::<GroupId, ConfirmationTag>(group_id, confirmation_tag)
    }

    fn write_group_state<
        GroupState: st::GroupState<CURRENT_VERSION>,
        GroupId: st::GroupId<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        group_state: &GroupState,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_group_state::<GroupState, GroupId>(group_id, group_state)
    }

    fn write_resumption_psk_store<
        GroupId: st::GroupId<CURRENT_VERSION>,
        ResumptionPskStore: st::ResumptionPskStore<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        resumption_psk_store: &ResumptionPskStore,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_resumption_psk_store::<GroupId, ResumptionPskStore>(
                group_id,
                resumption_psk_store,
            )
    }

    fn write_own_leaf_index<
        GroupId: st::GroupId<CURRENT_VERSION>,
        LeafNodeIndex: st::LeafNodeIndex<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        own_leaf_index: &LeafNodeIndex,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_own_leaf_index::<GroupId, LeafNodeIndex>(group_id, own_leaf_index)
    }

    fn write_group_epoch_secrets<
        GroupId: st::GroupId<CURRENT_VERSION>,
        GroupEpochSecrets: st::GroupEpochSecrets<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        group_epoch_secrets: &GroupEpochSecrets,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_group_epoch_secrets::<GroupId, GroupEpochSecrets>(group_id, group_epoch_secrets)
    }

    fn write_signature_key_pair<
        SignaturePublicKey: st::SignaturePublicKey<CURRENT_VERSION>,
        SignatureKeyPair: st::SignatureKeyPair<CURRENT_VERSION>,
    >(
        &self,
        public_key: &SignaturePublicKey,
        signature_key_pair: &SignatureKeyPair,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_signature_key_pair::<SignaturePublicKey, SignatureKeyPair>(
                public_key,
                signature_key_pair,
            )
    }

    fn write_encryption_key_pair<
        EncryptionKey: st::EncryptionKey<CURRENT_VERSION>,
        HpkeKeyPair: st::HpkeKeyPair<CURRENT_VERSION>,
    >(
        &self,
        public_key: &EncryptionKey,
        key_pair: &HpkeKeyPair,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_encryption_key_pair::<EncryptionKey, HpkeKeyPair>(public_key, key_pair)
    }

    fn write_encryption_epoch_key_pairs<
        GroupId: st::GroupId<CURRENT_VERSION>,
        EpochKey: st::EpochKey<CURRENT_VERSION>,
        HpkeKeyPair: st::HpkeKeyPair<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        epoch: &EpochKey,
        leaf_index: u32,
        key_pairs: &[HpkeKeyPair],
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_encryption_epoch_key_pairs::<GroupId, EpochKey, HpkeKeyPair>(
                group_id, epoch, leaf_index, key_pairs,
            )
    }

    fn write_key_package<
        HashReference: st::HashReference<CURRENT_VERSION>,
        KeyPackage: st::KeyPackage<CURRENT_VERSION>,
    >(
        &self,
        hash_ref: &HashReference,
        key_package: &KeyPackage,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .write_key_package::<HashReference, KeyPackage>(hash_ref, key_package)
    }

    fn write_psk<PskId: st::PskId<CURRENT_VERSION>, PskBundle: st::PskBundle<CURRENT_VERSION>>(
        &self,
        psk_id: &PskId,
        psk: &PskBundle,
    ) -> std::result::Result<(), Self::Error> {
        self.inner.write_psk::<PskId, PskBundle>(psk_id, psk)
    }

    fn mls_group_join_config<
        GroupId: st::GroupId<CURRENT_VERSION>,
        MlsGroupJoinConfig: st::MlsGroupJoinConfig<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Option<MlsGroupJoinConfig>, Self::Error> {
        self.inner
            .mls_group_join_config::<GroupId, MlsGroupJoinConfig>(group_id)
    }

    fn own_leaf_nodes<
        GroupId: st::GroupId<CURRENT_VERSION>,
        LeafNode: st::LeafNode<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Vec<LeafNode>, Self::Error> {
        self.inner.own_leaf_nodes::<GroupId, LeafNode>(group_id)
    }

    fn queued_proposal_refs<
        GroupId: st::GroupId<CURRENT_VERSION>,
        ProposalRef: st::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Vec<ProposalRef>, Self::Error> {
        self.inner
            .queued_proposal_refs::<GroupId, ProposalRef>(group_id)
    }

    fn queued_proposals<
        GroupId: st::GroupId<CURRENT_VERSION>,
        ProposalRef: st::ProposalRef<CURRENT_VERSION>,
        QueuedProposal: st::QueuedProposal<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Vec<(ProposalRef, QueuedProposal)>, Self::Error> {
        self.inner
            .queued_proposals::<GroupId, ProposalRef, QueuedProposal>(group_id)
    }

    fn group_context<
        GroupId: st::GroupId<CURRENT_VERSION>,
        GroupContext: st::GroupContext<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Option<GroupContext>, Self::Error> {
        self.inner.group_context::<GroupId, GroupContext>(group_id)
    }

    fn interim_transcript_hash<
        GroupId: st::GroupId<CURRENT_VERSION>,
        InterimTranscriptHash: st::InterimTranscriptHash<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Option<InterimTranscriptHash>, Self::Error> {
        self.inner
            .interim_transcript_hash::<GroupId, InterimTranscriptHash>(group_id)
    }

    fn confirmation_tag<
        GroupId: st::GroupId<CURRENT_VERSION>,
        ConfirmationTag: st::ConfirmationTag<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Option<ConfirmationTag>, Self::Error> {
        self.inner
            .confirmation_tag::<GroupId, ConfirmationTag>(group_id)
    }

    fn group_state<
        GroupState: st::GroupState<CURRENT_VERSION>,
        GroupId: st::GroupId<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Option<GroupState>, Self::Error> {
        self.inner.group_state::<GroupState, GroupId>(group_id)
    }

    fn resumption_psk_store<
        GroupId: st::GroupId<CURRENT_VERSION>,
        ResumptionPskStore: st::ResumptionPskStore<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Option<ResumptionPskStore>, Self::Error> {
        self.inner
            .resumption_psk_store::<GroupId, ResumptionPskStore>(group_id)
    }

    fn own_leaf_index<
        GroupId: st::GroupId<CURRENT_VERSION>,
        LeafNodeIndex: st::LeafNodeIndex<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Option<LeafNodeIndex>, Self::Error> {
        self.inner
            .own_leaf_index::<GroupId, LeafNodeIndex>(group_id)
    }

    fn group_epoch_secrets<
        GroupId: st::GroupId<CURRENT_VERSION>,
        GroupEpochSecrets: st::GroupEpochSecrets<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<Option<GroupEpochSecrets>, Self::Error> {
        self.inner
            .group_epoch_secrets::<GroupId, GroupEpochSecrets>(group_id)
    }

    fn signature_key_pair<
        SignaturePublicKey: st::SignaturePublicKey<CURRENT_VERSION>,
        SignatureKeyPair: st::SignatureKeyPair<CURRENT_VERSION>,
    >(
        &self,
        public_key: &SignaturePublicKey,
    ) -> std::result::Result<Option<SignatureKeyPair>, Self::Error> {
        self.inner
            .signature_key_pair::<SignaturePublicKey, SignatureKeyPair>(public_key)
    }

    fn encryption_key_pair<
        HpkeKeyPair: st::HpkeKeyPair<CURRENT_VERSION>,
        EncryptionKey: st::EncryptionKey<CURRENT_VERSION>,
    >(
        &self,
        public_key: &EncryptionKey,
    ) -> std::result::Result<Option<HpkeKeyPair>, Self::Error> {
        self.inner
            .encryption_key_pair::<HpkeKeyPair, EncryptionKey>(public_key)
    }

    fn encryption_epoch_key_pairs<
        GroupId: st::GroupId<CURRENT_VERSION>,
        EpochKey: st::EpochKey<CURRENT_VERSION>,
        HpkeKeyPair: st::HpkeKeyPair<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        epoch: &EpochKey,
        leaf_index: u32,
    ) -> std::result::Result<Vec<HpkeKeyPair>, Self::Error> {
        self.inner
            .encryption_epoch_key_pairs::<GroupId, EpochKey, HpkeKeyPair>(
                group_id, epoch, leaf_index,
            )
    }

    fn key_package<
        KeyPackageRef: st::HashReference<CURRENT_VERSION>,
        KeyPackage: st::KeyPackage<CURRENT_VERSION>,
    >(
        &self,
        hash_ref: &KeyPackageRef,
    ) -> std::result::Result<Option<KeyPackage>, Self::Error> {
        self.inner
            .key_package::<KeyPackageRef, KeyPackage>(hash_ref)
    }

    fn psk<PskBundle: st::PskBundle<CURRENT_VERSION>, PskId: st::PskId<CURRENT_VERSION>>(
        &self,
        psk_id: &PskId,
    ) -> std::result::Result<Option<PskBundle>, Self::Error> {
        self.inner.psk::<PskBundle, PskId>(psk_id)
    }

    fn remove_proposal<
        GroupId: st::GroupId<CURRENT_VERSION>,
        ProposalRef: st::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        proposal_ref: &ProposalRef,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .remove_proposal::<GroupId, ProposalRef>(group_id, proposal_ref)
    }

    fn delete_own_leaf_nodes<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.inner.delete_own_leaf_nodes::<GroupId>(group_id)
    }

    fn delete_group_config<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.inner.delete_group_config::<GroupId>(group_id)
    }

    fn delete_confirmation_tag<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.inner.delete_confirmation_tag::<GroupId>(group_id)
    }

    fn delete_group_state<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.inner.delete_group_state::<GroupId>(group_id)
    }

    fn delete_context<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.inner.delete_context::<GroupId>(group_id)
    }

    fn delete_interim_transcript_hash<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .delete_interim_transcript_hash::<GroupId>(group_id)
    }

    fn delete_all_resumption_psk_secrets<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .delete_all_resumption_psk_secrets::<GroupId>(group_id)
    }

    fn delete_own_leaf_index<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.inner.delete_own_leaf_index::<GroupId>(group_id)
    }

    fn delete_group_epoch_secrets<GroupId: st::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.inner.delete_group_epoch_secrets::<GroupId>(group_id)
    }

    fn clear_proposal_queue<
        GroupId: st::GroupId<CURRENT_VERSION>,
        ProposalRef: st::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .clear_proposal_queue::<GroupId, ProposalRef>(group_id)
    }

    fn delete_signature_key_pair<SignaturePublicKey: st::SignaturePublicKey<CURRENT_VERSION>>(
        &self,
        public_key: &SignaturePublicKey,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .delete_signature_key_pair::<SignaturePublicKey>(public_key)
    }

    fn delete_encryption_key_pair<EncryptionKey: st::EncryptionKey<CURRENT_VERSION>>(
        &self,
        public_key: &EncryptionKey,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .delete_encryption_key_pair::<EncryptionKey>(public_key)
    }

    fn delete_encryption_epoch_key_pairs<
        GroupId: st::GroupId<CURRENT_VERSION>,
        EpochKey: st::EpochKey<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        epoch: &EpochKey,
        leaf_index: u32,
    ) -> std::result::Result<(), Self::Error> {
        self.inner
            .delete_encryption_epoch_key_pairs::<GroupId, EpochKey>(group_id, epoch, leaf_index)
    }

    fn delete_key_package<KeyPackageRef: st::HashReference<CURRENT_VERSION>>(
        &self,
        hash_ref: &KeyPackageRef,
    ) -> std::result::Result<(), Self::Error> {
        self.inner.delete_key_package::<KeyPackageRef>(hash_ref)
    }

    fn delete_psk<PskKey: st::PskId<CURRENT_VERSION>>(
        &self,
        psk_id: &PskKey,
    ) -> std::result::Result<(), Self::Error> {
        self.inner.delete_psk::<PskKey>(psk_id)
    }
}
