//! A least-recently-used map bounded in bytes: the parsed-document cache, the persisted-query
//! store and the response cache all keep what an anonymous client sends within a fixed size.

use std::hash::Hash;

use lru::LruCache;

/// An LRU map whose values are weighed in bytes; inserting evicts until the total fits.
pub struct ByteLru<K: Hash + Eq, V> {
    entries: LruCache<K, (V, usize)>,
    bytes: usize,
    max_bytes: usize,
}

impl<K: Hash + Eq, V: Clone> ByteLru<K, V> {
    /// An empty map holding at most `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        Self { entries: LruCache::unbounded(), bytes: 0, max_bytes }
    }

    /// The value of `key`, marked as just used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        self.entries.get(key).map(|(v, _)| v.clone())
    }

    /// Inserts `value` weighing `weight` bytes and returns how many entries were evicted to
    /// make room. A value heavier than the whole bound is not kept.
    pub fn put(&mut self, key: K, value: V, weight: usize) -> usize {
        if weight > self.max_bytes {
            return 0;
        }
        if let Some((_, old)) = self.entries.put(key, (value, weight)) {
            self.bytes -= old;
        }
        self.bytes += weight;
        let mut evicted = 0;
        while self.bytes > self.max_bytes {
            match self.entries.pop_lru() {
                Some((_, (_, w))) => {
                    self.bytes -= w;
                    evicted += 1;
                }
                None => break,
            }
        }
        evicted
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_bound_evicts_the_least_recently_used() {
        let mut lru = ByteLru::new(100);
        assert_eq!(lru.put([1; 32], 1, 40), 0);
        lru.put([2; 32], 2, 40);
        assert_eq!(lru.get(&[1; 32]), Some(1));
        assert_eq!(lru.put([3; 32], 3, 40), 1);
        assert_eq!(lru.get(&[2; 32]), None, "least recently used goes first");
        assert_eq!((lru.get(&[1; 32]), lru.get(&[3; 32])), (Some(1), Some(3)));
        assert_eq!(lru.bytes(), 80);
        lru.put([4; 32], 4, 1000);
        assert_eq!(lru.get(&[4; 32]), None, "larger than the whole bound: not kept");
        lru.clear();
        assert_eq!((lru.bytes(), lru.len()), (0, 0));
    }
}
