//! The open prefilter's kernel form: the rule-derived [`OpenInterest`] turned into hashed
//! keys for the `PATH_INTEREST` map and the switches of `OPEN_FILTER`.
//!
//! Key derivation (must match `syscalls.c`): FNV-1a 64 over the bytes, from a seed per key
//! space. A prefix `P` is `fnv(SEED_PREFIX, P)`; an exact path `X` is
//! `fnv(SEED_PREFIX, X ++ "\0")` (no path contains NUL, so no prefix collides with it by
//! construction); a last component `B` is `fnv(SEED_BASENAME, B)`; a task name `C` is
//! `fnv(SEED_COMM, C)`. The kernel checks the prefix of each length listed in `prefix_lens`
//! (at most [`PREFIX_LENS`] lengths: beyond that, longer prefixes are cut to a listed length,
//! which lets more through). Hash collisions can only let an event through, never drop one.

use std::collections::BTreeMap;

use std::collections::BTreeSet;

use palisade_ebpf::abi::{OpenFilter, INTEREST_READ, INTEREST_WORDS, INTEREST_WRITE, PATH_MAX, PREFIX_LENS};
use palisade_rules::prefilter::{OpenInterest, PathInterest};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;
const SEED_PREFIX: u64 = FNV_OFFSET;
const SEED_BASENAME: u64 = FNV_OFFSET ^ 1;
const SEED_COMM: u64 = FNV_OFFSET ^ 2;
/// The kernel hashes comms of at most 15 bytes (`TASK_COMM_LEN` - 1).
const COMM_MAX: usize = 15;

fn fnv(seed: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

/// The `INTEREST_BITS` words for keys and their directions: reads first, then writes.
pub fn bitmap(keys: &[(u64, u8)]) -> Vec<u64> {
    let mut words = vec![0u64; 2 * INTEREST_WORDS];
    for (hash, dirs) in keys {
        let word = (hash >> 6) as usize & (INTEREST_WORDS - 1);
        let bit = 1u64 << (hash & 63);
        if dirs & INTEREST_READ != 0 {
            words[word] |= bit;
        }
        if dirs & INTEREST_WRITE != 0 {
            words[INTEREST_WORDS + word] |= bit;
        }
    }
    words
}

/// The prefix lengths the kernel checks, at most [`PREFIX_LENS`], ascending: every length of
/// `prefixes` when they fit, else the shortest ones (longer prefixes are then cut to the
/// longest kept length not above their own, see [`cut`]).
fn kept_lengths<'a>(prefixes: impl Iterator<Item = &'a String>) -> Vec<usize> {
    let lens: BTreeSet<usize> = prefixes.map(String::len).filter(|l| (1..PATH_MAX).contains(l)).collect();
    lens.into_iter().take(PREFIX_LENS).collect()
}

/// `prefix` cut to the longest of `kept` not above its length (a shorter prefix admits every
/// path the longer one does).
fn cut<'a>(prefix: &'a str, kept: &[usize]) -> &'a [u8] {
    let len = kept.iter().copied().filter(|l| *l <= prefix.len()).max().unwrap_or(prefix.len());
    &prefix.as_bytes()[..len]
}

/// The `OPEN_FILTER` switches and the interesting keys (hash, directions) for `interest`.
pub fn open_filter(interest: &OpenInterest) -> (OpenFilter, Vec<(u64, u8)>) {
    let mut filter = OpenFilter { active: 1, ..OpenFilter::default() };
    let kept = kept_lengths(interest.read.prefixes.iter().chain(&interest.write.prefixes));
    let mut keys: BTreeMap<u64, u8> = BTreeMap::new();
    let mut add = |side: &PathInterest, dir: u8, all: &mut u32| {
        if side.all {
            *all = 1;
            return;
        }
        for p in &side.exact {
            let mut b = p.as_bytes().to_vec();
            b.push(0);
            *keys.entry(fnv(SEED_PREFIX, &b)).or_default() |= dir;
        }
        for p in &side.prefixes {
            if p.is_empty() || p.len() >= PATH_MAX {
                // An empty prefix matches everything; one the kernel never hashes that far
                // cannot be checked: both mean "let this direction through".
                *all = 1;
                continue;
            }
            *keys.entry(fnv(SEED_PREFIX, cut(p, &kept))).or_default() |= dir;
        }
        for b in &side.basenames {
            *keys.entry(fnv(SEED_BASENAME, b.as_bytes())).or_default() |= dir;
        }
        for c in &side.comms {
            let c = &c.as_bytes()[..c.len().min(COMM_MAX)];
            *keys.entry(fnv(SEED_COMM, c)).or_default() |= dir;
        }
    };
    add(&interest.read, INTEREST_READ, &mut filter.read_all);
    add(&interest.write, INTEREST_WRITE, &mut filter.write_all);
    for (slot, len) in filter.prefix_lens.iter_mut().zip(&kept) {
        *slot = *len as u8;
    }
    (filter, keys.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_fnv1a_64() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn keys_and_prefix_lengths() {
        let mut interest = OpenInterest::default();
        interest.read.exact.insert("/etc/shadow".into());
        interest.read.prefixes.insert("/etc/sudoers.d/".into());
        interest.write.prefixes.insert("/etc".into());
        interest.write.comms.insert("a-very-long-process-name".into());
        interest.read.raw_dotdot = true;
        let (filter, keys) = open_filter(&interest);
        assert_eq!((filter.active, filter.read_all, filter.write_all), (1, 0, 0));
        assert_eq!(filter.prefix_lens[..3], [4, 15, 0]);
        let key = |seed, b: &[u8]| keys.iter().find(|(k, _)| *k == fnv(seed, b)).map(|(_, d)| *d);
        assert_eq!(key(SEED_PREFIX, b"/etc/shadow\0"), Some(INTEREST_READ));
        assert_eq!(key(SEED_PREFIX, b"/etc"), Some(INTEREST_WRITE));
        assert_eq!(key(SEED_COMM, b"a-very-long-pro"), Some(INTEREST_WRITE));
        assert_eq!(keys.len(), 4);
        let words = bitmap(&keys);
        let h = fnv(SEED_PREFIX, b"/etc");
        let word = (h >> 6) as usize & (INTEREST_WORDS - 1);
        assert_eq!(words[INTEREST_WORDS + word] >> (h & 63) & 1, 1, "write bit of /etc");
        assert_eq!(words.iter().map(|w| w.count_ones()).sum::<u32>(), 4);
        interest.read.all = true;
        assert_eq!(open_filter(&interest).0.read_all, 1);
    }

    #[test]
    fn too_many_prefix_lengths_are_cut_to_kept_ones() {
        let mut interest = OpenInterest::default();
        // 40 distinct lengths: /a, /aa, /aaa, ... (2..=41 bytes).
        for n in 1..=40 {
            interest.read.prefixes.insert(format!("/{}", "a".repeat(n)));
        }
        let (filter, keys) = open_filter(&interest);
        let lens: Vec<u8> = filter.prefix_lens.to_vec();
        assert_eq!(lens, (2..=33).collect::<Vec<u8>>(), "the 32 shortest lengths");
        // The longer prefixes became the 33-byte one: fewer keys, and each kept prefix is there.
        assert_eq!(keys.len(), 32);
        let long = format!("/{}", "a".repeat(40));
        assert_eq!(cut(&long, &[2, 5, 33]), &long.as_bytes()[..33]);
        assert!(keys.iter().any(|(k, _)| *k == fnv(SEED_PREFIX, &long.as_bytes()[..33])));
    }
}
