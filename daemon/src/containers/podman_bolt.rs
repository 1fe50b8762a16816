//! A read-only reader of bbolt files (`go.etcd.io/bbolt`, the key/value store of podman 4's
//! `libpod/bolt_state.db`), enough to fetch one value by its bucket path: podman keeps a
//! container's labels only there (its OCI spec and containers-storage's records carry none).
//! Written by hand because no maintained crate reads bbolt's on-disk format, and this needs
//! only its read path (about 200 lines).
//!
//! The format, as bbolt writes it (little-endian; we rely on nothing else):
//! - every page starts with a 16-byte header: `id u64, flags u16, count u16, overflow u32`;
//!   flags `0x01` branch, `0x02` leaf, `0x04` meta; a page and its `overflow` following pages
//!   are one contiguous run;
//! - pages 0 and 1 are meta pages; after the header: `magic u32 = 0xED0CDAED, version u32 = 2,
//!   page_size u32, flags u32, root bucket {root pgid u64, sequence u64}, freelist u64, pgid
//!   u64, txid u64, checksum u64` (FNV-1a 64 of the 56 bytes before it). The valid meta with
//!   the higher txid is the committed state;
//! - a branch page holds `count` elements `pos u32, ksize u32, pgid u64` (key at the element's
//!   offset + pos, the first key of child `pgid`); a leaf page `count` elements `flags u32,
//!   pos u32, ksize u32, vsize u32` (key then value at the element's offset + pos; flags `0x01`:
//!   the value is a nested bucket);
//! - a bucket value is `root pgid u64, sequence u64`; root 0 means an inline bucket, whose page
//!   follows those 16 bytes inside the value.
//!
//! The file is read whole, without bbolt's file lock: podman may commit while we read, so
//! every offset is bounds-checked, the walk is depth-limited, and a torn read yields `None`
//! (callers validate what they get), never a panic.

use std::path::Path;

/// bbolt's magic number, in both meta pages.
const MAGIC: u32 = 0xED0C_DAED;
/// The only data format version bbolt has written.
const VERSION: u32 = 2;
const PAGE_HEADER: usize = 16;
const ELEMENT: usize = 16;
const BRANCH: u16 = 0x01;
const LEAF: u16 = 0x02;
const BUCKET_LEAF: u32 = 0x01;
/// B+tree depth bound: a real tree of a few thousand containers is 3 or 4 deep.
const MAX_DEPTH: usize = 32;
/// The largest file read (a podman host with thousands of containers is a few MiB).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum BoltError {
    #[error("read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: larger than {MAX_FILE_BYTES} bytes")]
    TooLarge { path: String },
    #[error("not a bbolt file (no valid meta page)")]
    NoMeta,
}

/// A bbolt file's committed state.
pub struct Db {
    data: Vec<u8>,
    page_size: usize,
    root: u64,
}

/// Where a bucket's pages are: in the file, or inline in its parent's value.
#[derive(Clone, Copy)]
enum Bucket<'a> {
    Paged(u64),
    Inline(&'a [u8]),
}

/// One page run: its bytes from its header on.
struct Page<'a> {
    bytes: &'a [u8],
    flags: u16,
    count: usize,
}

impl Db {
    /// Reads `path` whole (at most [`MAX_FILE_BYTES`]).
    pub fn open(path: &Path) -> Result<Db, BoltError> {
        let p = || path.display().to_string();
        let len = std::fs::metadata(path).map_err(|source| BoltError::Read { path: p(), source })?.len();
        if len > MAX_FILE_BYTES {
            return Err(BoltError::TooLarge { path: p() });
        }
        let data = std::fs::read(path).map_err(|source| BoltError::Read { path: p(), source })?;
        Db::parse(data)
    }

    /// The committed state of a file's bytes: the valid meta page with the higher txid.
    pub fn parse(data: Vec<u8>) -> Result<Db, BoltError> {
        // Meta 0 names the page size; meta 1 is one page further.
        let size0 = read_u32(&data, PAGE_HEADER + 8).map_or(4096, |s| s as usize);
        let metas = [meta(&data, 0), (size0 >= 512).then(|| meta(&data, size0)).flatten()];
        let best = metas.into_iter().flatten().max_by_key(|m| m.txid).ok_or(BoltError::NoMeta)?;
        Ok(Db { data, page_size: best.page_size, root: best.root })
    }

    /// The value of `key` in the bucket reached through `buckets` (each a nested bucket of the
    /// previous, from the root); `None` when a bucket or the key is absent, or the file is torn.
    pub fn get(&self, buckets: &[&[u8]], key: &[u8]) -> Option<&[u8]> {
        let mut bucket = Bucket::Paged(self.root);
        for name in buckets {
            let (flags, value) = self.find(bucket, name)?;
            if flags & BUCKET_LEAF == 0 {
                return None;
            }
            bucket = bucket_of(value)?;
        }
        let (flags, value) = self.find(bucket, key)?;
        (flags & BUCKET_LEAF == 0).then_some(value)
    }

    /// Page `pgid` with its overflow pages.
    fn page(&self, pgid: u64) -> Option<Page<'_>> {
        let start = usize::try_from(pgid).ok()?.checked_mul(self.page_size)?;
        let overflow = read_u32(&self.data, start.checked_add(12)?)? as usize;
        let end = start.checked_add(overflow.checked_add(1)?.checked_mul(self.page_size)?)?.min(self.data.len());
        page_at(self.data.get(start..end)?)
    }

    /// The leaf element `key` of `bucket`: its flags and value.
    fn find<'a>(&'a self, bucket: Bucket<'a>, key: &[u8]) -> Option<(u32, &'a [u8])> {
        let mut page = match bucket {
            Bucket::Paged(root) => self.page(root)?,
            Bucket::Inline(bytes) => page_at(bytes)?,
        };
        for _ in 0..MAX_DEPTH {
            if page.flags & LEAF != 0 {
                return (0..page.count).find_map(|i| {
                    let (flags, k, v) = leaf_element(page.bytes, i)?;
                    (k == key).then_some((flags, v))
                });
            }
            if page.flags & BRANCH == 0 || matches!(bucket, Bucket::Inline(_)) {
                return None;
            }
            // The last child whose first key is <= key (or the first child).
            let mut child = None;
            for i in 0..page.count {
                let (k, pgid) = branch_element(page.bytes, i)?;
                if child.is_some() && k > key {
                    break;
                }
                child = Some(pgid);
            }
            page = self.page(child?)?;
        }
        None
    }
}

struct Meta {
    page_size: usize,
    root: u64,
    txid: u64,
}

/// The meta page at byte `start`, when its magic, version and checksum hold.
fn meta(data: &[u8], start: usize) -> Option<Meta> {
    let m = start.checked_add(PAGE_HEADER)?;
    let body = data.get(m..m.checked_add(64)?)?;
    if read_u32(body, 0)? != MAGIC || read_u32(body, 4)? != VERSION || read_u64(body, 56)? != fnv1a(&body[..56]) {
        return None;
    }
    let page_size = read_u32(body, 8)? as usize;
    (page_size >= 512).then_some(Meta { page_size, root: read_u64(body, 16)?, txid: read_u64(body, 48)? })
}

/// A bucket value's pages.
fn bucket_of(value: &[u8]) -> Option<Bucket<'_>> {
    match read_u64(value, 0)? {
        0 => Some(Bucket::Inline(value.get(16..)?)),
        root => Some(Bucket::Paged(root)),
    }
}

fn page_at(bytes: &[u8]) -> Option<Page<'_>> {
    let flags = u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?);
    let count = u16::from_le_bytes(bytes.get(10..12)?.try_into().ok()?) as usize;
    Some(Page { bytes, flags, count })
}

fn leaf_element(page: &[u8], i: usize) -> Option<(u32, &[u8], &[u8])> {
    let e = PAGE_HEADER.checked_add(i.checked_mul(ELEMENT)?)?;
    let (flags, pos, ksize, vsize) =
        (read_u32(page, e)?, read_u32(page, e + 4)? as usize, read_u32(page, e + 8)? as usize, read_u32(page, e + 12)? as usize);
    let k = e.checked_add(pos)?;
    let v = k.checked_add(ksize)?;
    Some((flags, page.get(k..v)?, page.get(v..v.checked_add(vsize)?)?))
}

fn branch_element(page: &[u8], i: usize) -> Option<(&[u8], u64)> {
    let e = PAGE_HEADER.checked_add(i.checked_mul(ELEMENT)?)?;
    let (pos, ksize, pgid) = (read_u32(page, e)? as usize, read_u32(page, e + 4)? as usize, read_u64(page, e + 8)?);
    let k = e.checked_add(pos)?;
    Some((page.get(k..k.checked_add(ksize)?)?, pgid))
}

fn read_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn read_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// FNV-1a, 64 bits (bbolt's meta checksum, Go's `hash/fnv.New64a`).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
#[path = "podman_bolt_tests.rs"]
pub(crate) mod tests;
