//! The reader against files written here page by page as bbolt lays them out.

use super::*;

const PS: usize = 1024;

fn header(pgid: u64, flags: u16, count: usize, overflow: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&pgid.to_le_bytes());
    h.extend_from_slice(&flags.to_le_bytes());
    h.extend_from_slice(&(count as u16).to_le_bytes());
    h.extend_from_slice(&overflow.to_le_bytes());
    h
}

/// A leaf page: elements, then each key and value.
fn leaf(pgid: u64, overflow: u32, elems: &[(u32, &[u8], Vec<u8>)]) -> Vec<u8> {
    let mut page = header(pgid, LEAF, elems.len(), overflow);
    let mut data = Vec::new();
    let data_start = PAGE_HEADER + elems.len() * ELEMENT;
    for (i, (flags, k, v)) in elems.iter().enumerate() {
        let elem_at = PAGE_HEADER + i * ELEMENT;
        let pos = data_start + data.len() - elem_at;
        for n in [*flags, pos as u32, k.len() as u32, v.len() as u32] {
            page.extend_from_slice(&n.to_le_bytes());
        }
        data.extend_from_slice(k);
        data.extend_from_slice(v);
    }
    page.extend_from_slice(&data);
    page
}

fn branch(pgid: u64, elems: &[(&[u8], u64)]) -> Vec<u8> {
    let mut page = header(pgid, BRANCH, elems.len(), 0);
    let mut data = Vec::new();
    let data_start = PAGE_HEADER + elems.len() * ELEMENT;
    for (i, (k, child)) in elems.iter().enumerate() {
        let pos = data_start + data.len() - (PAGE_HEADER + i * ELEMENT);
        page.extend_from_slice(&(pos as u32).to_le_bytes());
        page.extend_from_slice(&(k.len() as u32).to_le_bytes());
        page.extend_from_slice(&child.to_le_bytes());
        data.extend_from_slice(k);
    }
    page.extend_from_slice(&data);
    page
}

fn meta_page(pgid: u64, root: u64, txid: u64) -> Vec<u8> {
    let mut page = header(pgid, 0x04, 0, 0);
    let mut body = Vec::new();
    for n in [MAGIC, VERSION, PS as u32, 0] {
        body.extend_from_slice(&n.to_le_bytes());
    }
    for n in [root, 0, 2, 9, txid] {
        body.extend_from_slice(&n.to_le_bytes());
    }
    body.extend_from_slice(&fnv1a(&body).to_le_bytes());
    page.extend_from_slice(&body);
    page
}

fn paged_bucket(root: u64) -> Vec<u8> {
    [root.to_le_bytes(), 0u64.to_le_bytes()].concat()
}

fn inline_bucket(page: Vec<u8>) -> Vec<u8> {
    [vec![0; 16], page].concat()
}

/// Pages in order, each padded to a page (or to its overflow run).
fn file(pages: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pages {
        let len = p.len().div_ceil(PS).max(1) * PS;
        out.extend_from_slice(&p);
        out.resize(out.len() + len - p.len(), 0);
    }
    out
}

/// A file holding one value at `bucket/sub/key`, every bucket inline (as bbolt stores small
/// ones): libpod's database with one container.
pub(crate) fn one_value_file(bucket: &[u8], sub: &[u8], key: &[u8], value: &[u8]) -> Vec<u8> {
    let inner = inline_bucket(leaf(0, 0, &[(0, key, value.to_vec())]));
    let outer = inline_bucket(leaf(0, 0, &[(BUCKET_LEAF, sub, inner)]));
    let root = leaf(3, 0, &[(BUCKET_LEAF, bucket, outer)]);
    let root_len = root.len().div_ceil(PS) as u32;
    let mut root = root;
    root[12..16].copy_from_slice(&(root_len.max(1) - 1).to_le_bytes());
    file(vec![meta_page(0, 3, 1), meta_page(1, 3, 2), header(2, 0x10, 0, 0), root])
}

/// A libpod-like file: root → `ctr` (paged, a branch over two leaves) → per-container buckets;
/// `aaa` inline, `bbb` paged with a value spanning two pages. Meta 1 (txid 5) is the newer.
fn sample() -> (Vec<u8>, Vec<u8>) {
    let big = vec![b'x'; 1500];
    let inline = leaf(0, 0, &[(0, b"config", b"{\"id\":\"aaa\"}".to_vec()), (0, b"state", b"{}".to_vec())]);
    let pages = vec![
        meta_page(0, 3, 4),
        meta_page(1, 3, 5),
        header(2, 0x10, 0, 0),
        leaf(3, 0, &[(BUCKET_LEAF, b"all-ctrs", inline_bucket(leaf(0, 0, &[]))), (BUCKET_LEAF, b"ctr", paged_bucket(4))]),
        branch(4, &[(b"aaa", 5), (b"bbb", 6)]),
        leaf(5, 0, &[(BUCKET_LEAF, b"aaa", inline_bucket(inline))]),
        leaf(6, 0, &[(BUCKET_LEAF, b"bbb", paged_bucket(7))]),
        leaf(7, 1, &[(0, b"config", big.clone())]),
    ];
    (file(pages), big)
}

#[test]
fn values_are_found_through_branches_inline_and_paged_buckets_and_overflow_pages() {
    let (bytes, big) = sample();
    let db = Db::parse(bytes).expect("db");
    assert_eq!(db.get(&[b"ctr", b"aaa"], b"config"), Some(&b"{\"id\":\"aaa\"}"[..]));
    assert_eq!(db.get(&[b"ctr", b"aaa"], b"state"), Some(&b"{}"[..]));
    assert_eq!(db.get(&[b"ctr", b"bbb"], b"config"), Some(big.as_slice()));
}

#[test]
fn absent_buckets_and_keys_and_buckets_asked_as_values_are_none() {
    let db = Db::parse(sample().0).expect("db");
    assert_eq!(db.get(&[b"ctr", b"ccc"], b"config"), None);
    assert_eq!(db.get(&[b"ctr", b"aaa"], b"labels"), None);
    assert_eq!(db.get(&[b"nope"], b"config"), None);
    assert_eq!(db.get(&[b"ctr"], b"aaa"), None, "a bucket is not a value");
    assert_eq!(db.get(&[b"ctr", b"aaa", b"config"], b"x"), None, "a value is not a bucket");
}

#[test]
fn the_newer_valid_meta_wins_and_a_corrupt_one_is_ignored() {
    let (mut bytes, _) = sample();
    // Meta 1 (txid 5) points at a page that is not a tree: with it, nothing is found.
    bytes[PS + PAGE_HEADER + 16] = 2;
    let sum = fnv1a(&bytes[PS + PAGE_HEADER..PS + PAGE_HEADER + 56]);
    bytes[PS + PAGE_HEADER + 56..PS + PAGE_HEADER + 64].copy_from_slice(&sum.to_le_bytes());
    assert_eq!(Db::parse(bytes.clone()).expect("db").get(&[b"ctr", b"aaa"], b"state"), None);
    // Now its checksum is wrong: meta 0 (txid 4) is the committed state.
    bytes[PS + PAGE_HEADER + 56] ^= 1;
    assert_eq!(Db::parse(bytes).expect("db").get(&[b"ctr", b"aaa"], b"state"), Some(&b"{}"[..]));
}

#[test]
fn nested_inline_buckets_and_a_root_leaf_longer_than_a_page_are_read() {
    let value = vec![b'v'; 3000];
    let db = Db::parse(one_value_file(b"ctr", b"c1", b"config", &value)).expect("db");
    assert_eq!(db.get(&[b"ctr", b"c1"], b"config"), Some(value.as_slice()));
}

#[test]
fn files_that_are_not_bbolt_are_refused() {
    assert!(matches!(Db::parse(Vec::new()), Err(BoltError::NoMeta)));
    assert!(matches!(Db::parse(b"SQLite format 3\0".repeat(300)), Err(BoltError::NoMeta)));
}

#[test]
fn truncated_or_scribbled_files_never_panic() {
    let (bytes, _) = sample();
    for len in (0..bytes.len()).step_by(7) {
        if let Ok(db) = Db::parse(bytes[..len].to_vec()) {
            let _ = db.get(&[b"ctr", b"bbb"], b"config");
        }
    }
    // Every byte of the tree pages set to 0xff in turn (sizes, offsets, page ids, flags).
    for at in (2 * PS..bytes.len()).step_by(3) {
        let mut b = bytes.clone();
        b[at] = 0xff;
        let db = Db::parse(b).expect("metas intact");
        let _ = db.get(&[b"ctr", b"aaa"], b"config");
        let _ = db.get(&[b"ctr", b"bbb"], b"config");
    }
}
