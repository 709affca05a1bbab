//! HMAC-SHA256 (RFC 2104) on the `sha2` crate the project already uses,
//! rather than a dependency for thirty lines; and the random key used when
//! none is given.

use std::io::Read;

use sha2::{Digest, Sha256};

/// A keyed hash with its padded key absorbed once: each MAC clones two
/// hash states instead of hashing the key again.
pub struct HmacSha256 {
    inner: Sha256,
    outer: Sha256,
}

impl HmacSha256 {
    pub fn new(key: &[u8]) -> HmacSha256 {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let mut inner = Sha256::new();
        inner.update(block.map(|b| b ^ 0x36));
        let mut outer = Sha256::new();
        outer.update(block.map(|b| b ^ 0x5c));
        HmacSha256 { inner, outer }
    }

    /// The MAC of the concatenated `parts`.
    pub fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = self.inner.clone();
        for p in parts {
            inner.update(p);
        }
        let mut outer = self.outer.clone();
        outer.update(inner.finalize());
        outer.finalize().into()
    }
}

/// A fresh random key (32 bytes from the operating system), for runs
/// without `--mask-key`: the fakes are then consistent within the run only.
pub fn random_key() -> std::io::Result<Vec<u8>> {
    let mut key = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc_4231() {
        let m = HmacSha256::new(b"Jefe");
        assert_eq!(
            hex::encode(m.mac(&[b"what do ya want ", b"for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // a key longer than the block is hashed first (test case 6)
        let m = HmacSha256::new(&[0xaa; 131]);
        assert_eq!(
            hex::encode(m.mac(&[b"Test Using Larger Than Block-Size Key - Hash Key First"])),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn random_keys_differ() {
        assert_ne!(random_key().unwrap(), random_key().unwrap());
    }
}
