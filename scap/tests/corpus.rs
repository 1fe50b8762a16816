//! Every capture under `shared/falco/traces` parses completely, with the block and event
//! counts `scap_inventory.txt` lists; cut and corrupted copies fail with an error naming the
//! byte offset, and never panic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use palisade_scap::{Block, Capture, Reader, ScapError};

/// The shared test inputs (`PALISADE_SHARED` overrides `../../shared` from this crate).
fn traces() -> PathBuf {
    let shared = std::env::var_os("PALISADE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    shared.join("falco/traces")
}

/// One inventory entry.
#[derive(Debug, Default)]
struct Expected {
    blocks: BTreeMap<String, u64>,
    events: u64,
    top_types: BTreeMap<String, u64>,
}

fn inventory() -> BTreeMap<String, Expected> {
    let text = std::fs::read_to_string(traces().join("scap_inventory.txt")).expect("scap_inventory.txt");
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("./") {
            current = rest.split(':').next().unwrap_or_default().to_owned();
            out.insert(current.clone(), Expected::default());
        } else if let Some(rest) = line.trim().strip_prefix("blocks: ") {
            let e = out.get_mut(&current).expect("entry");
            for part in rest.trim_matches(['{', '}']).split(", ") {
                let (k, v) = part.rsplit_once(": ").expect("label: count");
                e.blocks.insert(k.trim_matches('\'').to_owned(), v.parse().expect("count"));
            }
        } else if let Some(rest) = line.trim().strip_prefix("events: ") {
            let n = rest.split(',').next().unwrap_or_default();
            out.get_mut(&current).expect("entry").events = n.parse().expect("event count");
        } else if let Some(rest) = line.trim().strip_prefix("top event types: ") {
            let e = out.get_mut(&current).expect("entry");
            for part in rest.split(", ") {
                let (k, v) = part.split_once('×').expect("type×count");
                e.top_types.insert(k.to_owned(), v.parse().expect("count"));
            }
        }
    }
    out
}

/// Counts by name.
type Counts = BTreeMap<String, u64>;

/// Block counts by inventory label, event count, event counts by `PPME_` name.
fn census(data: &[u8]) -> Result<(Counts, u64, Counts), ScapError> {
    let mut blocks = BTreeMap::new();
    let mut types = BTreeMap::new();
    let mut events = 0;
    *blocks.entry("SHB section header".to_owned()).or_default() += 1;
    let mut reader = Reader::new(data)?;
    while let Some(raw) = reader.next_raw() {
        let raw = raw?;
        *blocks.entry(raw.kind.label()).or_default() += 1;
        if let Block::Event(ev) = palisade_scap::decode(&raw)? {
            events += 1;
            let name = ev.schema().map_or_else(|| format!("type {}", ev.event_type), |s| format!("PPME_{}", s.ident));
            *types.entry(name).or_default() += 1;
            assert!(ev.params().count() == ev.nparams(), "every parameter is readable");
        }
    }
    Ok((blocks, events, types))
}

#[test]
fn every_capture_matches_the_inventory() {
    let inv = inventory();
    assert_eq!(inv.len(), 16, "inventory entries");
    for (file, want) in &inv {
        let cap = Capture::open(&traces().join(file)).expect(file);
        let (blocks, events, types) = census(cap.bytes()).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(blocks, want.blocks, "{file}: blocks");
        assert_eq!(events, want.events, "{file}: events");
        for (ty, n) in &want.top_types {
            assert_eq!(types.get(ty), Some(n), "{file}: {ty}");
        }
        // The typed walk agrees and the metadata decodes.
        let decoded: Vec<Block<'_>> = cap.reader().expect("reader").collect::<Result<_, _>>().expect(file);
        assert!(decoded.iter().any(|b| matches!(b, Block::Processes(p) if !p.is_empty())), "{file}: threads");
        assert!(decoded.iter().any(|b| matches!(b, Block::Machine(_))), "{file}: machine info");
    }
}

#[test]
fn tables_have_the_expected_content() {
    let cap = Capture::open(&traces().join("falco_legacy/trace_files/cat_write.scap")).expect("capture");
    let mut reader = cap.reader().expect("reader");
    assert_eq!((reader.header.major, reader.header.minor), (1, 0));
    let (mut users, mut threads, mut fds) = (0, Vec::new(), 0);
    for b in reader.by_ref() {
        match b.expect("block") {
            Block::Users(u) => users = u.users.len(),
            Block::Processes(p) => threads = p,
            Block::Fds(f) => fds += f.fds.len(),
            _ => {}
        }
    }
    assert!(users > 0 && fds > 0);
    let cat_parent = threads.iter().find(|t| t.tid == 11310).expect("the shell that ran cat");
    assert!(!cat_parent.comm.is_empty() && cat_parent.cwd.starts_with('/'), "{cat_parent:?}");
}

#[test]
fn cut_captures_fail_with_an_offset() {
    for file in ["falco_legacy/trace_files/cat_write.scap", "libs/sample.scap", "falco_legacy/trace_files/syscall.scap"] {
        let cap = Capture::open(&traces().join(file)).expect(file);
        let bytes = cap.bytes();
        for cut in [10, 30, bytes.len() / 3, bytes.len() / 2 + 1, bytes.len() - 1] {
            let err = census(&bytes[..cut]).expect_err("a cut capture is an error");
            let at = err.offset().expect("offset");
            assert!(at <= cut as u64, "{file} cut at {cut}: {err}");
            assert!(err.to_string().contains(&format!("at byte {at}")), "{err}");
        }
    }
    // A cut gzip file: the decoder's failure says where.
    let raw = std::fs::read(traces().join("falco_legacy/trace_files/cat_write.scap")).expect("read");
    let err = Capture::from_bytes(raw[..raw.len() / 2].to_vec(), palisade_scap::DEFAULT_LIMIT).expect_err("cut gzip");
    assert!(matches!(err, ScapError::Gzip { compressed_offset, .. } if compressed_offset > 0), "{err}");
}

#[test]
fn corrupted_lengths_fail_with_an_offset() {
    let cap = Capture::open(&traces().join("falco_legacy/trace_files/cat_write.scap")).expect("capture");
    let good = cap.bytes().to_vec();
    // The 100th block's total length, then an event length inside an event block.
    let mut reader = Reader::new(&good).expect("reader");
    let mut offsets = Vec::new();
    while let Some(Ok(raw)) = reader.next_raw() {
        if raw.kind.is_event() {
            offsets.push(raw.offset as usize);
        }
    }
    let block = offsets[100];
    let mut bad = good.clone();
    bad[block + 4] ^= 0x40;
    let err = census(&bad).expect_err("bad block length");
    assert!(err.offset().is_some_and(|o| o >= block as u64), "{err}");
    let mut bad = good.clone();
    // cpu id (2) + ts (8) + tid (8): the event's own length.
    bad[block + 8 + 18] = 0xFF;
    let err = census(&bad).expect_err("bad event length");
    assert_eq!(err.offset(), Some((block + 8 + 2 + 16) as u64), "{err}");
    assert!(err.to_string().contains("event length"), "{err}");
    // A wrong byte-order magic.
    let mut bad = good;
    bad[8] ^= 0xFF;
    let err = census(&bad).expect_err("bad magic");
    assert_eq!(err.offset(), Some(8), "{err}");
}

#[test]
fn random_damage_never_panics() {
    let cap = Capture::open(&traces().join("libs/sample.scap")).expect("capture");
    let good = cap.bytes();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let mut bad = good.to_vec();
        for _ in 0..8 {
            let i = (next() as usize) % bad.len();
            bad[i] = next() as u8;
        }
        let len = bad.len() - (next() as usize % 64);
        let _ = census(&bad[..len]);
        if let Ok(r) = Reader::new(&bad[..len]) {
            let _ = r.count();
        }
    }
}
