//! The openmls provider: RustCrypto for the primitives and an in-memory store whose whole
//! content can be taken out as bytes and put back, so the browser can keep it encrypted
//! in IndexedDB and the tests can restart a device.

use std::collections::HashMap;

use openmls_rust_crypto::{MemoryStorage, RustCrypto};
use openmls_traits::OpenMlsProvider;

use crate::error::{Error, Result};

#[derive(Default)]
pub(crate) struct Provider {
    crypto: RustCrypto,
    storage: MemoryStorage,
}

impl OpenMlsProvider for Provider {
    type CryptoProvider = RustCrypto;
    type RandProvider = RustCrypto;
    type StorageProvider = MemoryStorage;

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
    /// Every stored key and value, sorted so equal stores give equal bytes.
    pub(crate) fn export(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let values = self.storage.values.read().map_err(|_| Error::Internal)?;
        let mut pairs: Vec<_> = values.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        pairs.sort();
        Ok(pairs)
    }

    pub(crate) fn import(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Self {
        let storage = MemoryStorage::default();
        let map: HashMap<Vec<u8>, Vec<u8>> = pairs.into_iter().collect();
        if let Ok(mut values) = storage.values.write() {
            *values = map;
        }
        Self {
            crypto: RustCrypto::default(),
            storage,
        }
    }
}
