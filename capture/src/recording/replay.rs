//! Reading a Palisade capture back as the daemon saw it: the process table and users from the
//! first frames, containers as their frames arrive, and each record through the same
//! [`EventBuilder`] as live, with the capture's clock offset.

use std::collections::HashMap;
use std::sync::Arc;

use super::codec;
use super::{CapturedContainer, End, FrameKind, Meta, ReadError, Reader, UserLists};
use palisade_events::containers::ContainerMeta;
use palisade_events::event::{EventBuilder, EventData};
use palisade_events::process::{Process, ProcessTable, Users};

/// A capture that cannot be replayed: where, and why.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("byte {offset}: {kind:?} frame: {what}")]
    Frame { offset: u64, kind: FrameKind, what: String },
}

/// What a replay saw.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The `META` frame.
    pub meta: Meta,
    /// The `END` frame; `None`: the capture was cut short.
    pub end: Option<End>,
    /// Records read.
    pub records: u64,
    /// Events evaluated (in the capture's scope).
    pub events: u64,
    /// Processes in the starting table.
    pub processes: u64,
    /// Containers described.
    pub containers: u64,
}

/// One event in the capture's scope, with the state as of that event.
pub struct Replayed<'a> {
    /// The host the capture was made on (alerts carry it).
    pub hostname: &'a str,
    pub data: &'a EventData,
    pub container: Option<&'a ContainerMeta>,
    pub table: &'a ProcessTable,
    pub users: &'a Users,
}

fn json<'a, T: serde::Deserialize<'a>>(kind: FrameKind, offset: u64, payload: &'a [u8]) -> Result<T, ReplayError> {
    serde_json::from_slice(payload).map_err(|e| ReplayError::Frame { offset, kind, what: e.to_string() })
}

/// Replays the capture in `data`, handing every event in its scope (the whole capture, or the
/// container it was limited to) to `f`.
pub fn run(data: &[u8], mut f: impl FnMut(Replayed<'_>)) -> Result<Summary, ReplayError> {
    let mut reader = Reader::new(data)?;
    let mut summary = Summary::default();
    let mut table = ProcessTable::offline();
    let mut users = Users::default();
    let mut containers: HashMap<u64, Arc<ContainerMeta>> = HashMap::new();
    let mut builder: Option<EventBuilder> = None;
    while let Some(frame) = reader.next_frame() {
        let frame = frame?;
        let (kind, offset) = (frame.kind, frame.offset);
        let err = |what: String| ReplayError::Frame { offset, kind, what };
        if builder.is_none() && kind != FrameKind::Meta {
            return Err(err("the first frame must be META".into()));
        }
        match kind {
            FrameKind::Meta => {
                if builder.is_some() {
                    return Err(err("a second META frame".into()));
                }
                summary.meta = json(kind, offset, frame.payload)?;
                builder = Some(EventBuilder::new(summary.meta.boot_to_wall_ns));
            }
            FrameKind::Processes => {
                let list: Vec<Process> = json(kind, offset, frame.payload)?;
                summary.processes += list.len() as u64;
                for p in list {
                    table.insert(p);
                }
            }
            FrameKind::Users => users = json::<UserLists>(kind, offset, frame.payload)?.into(),
            FrameKind::Container => {
                let c: CapturedContainer = json(kind, offset, frame.payload)?;
                let cgroup = c.cgroup_id;
                let meta = c.into_meta().map_err(|e| err(e.to_string()))?;
                summary.containers += u64::from(!containers.contains_key(&cgroup));
                containers.insert(cgroup, Arc::new(meta));
            }
            FrameKind::Record => {
                let rec = codec::decode(frame.payload).map_err(|e| err(e.to_string()))?;
                summary.records += 1;
                let container = containers.get(&rec.header().cgroup_id).cloned();
                let Some(data) = builder.as_mut().and_then(|b| b.build(rec, &mut table)) else { continue };
                let filter = summary.meta.container.as_str();
                if !filter.is_empty() && container.as_ref().is_none_or(|c| c.full_id != filter) {
                    continue; // kept for the process tree only
                }
                summary.events += 1;
                f(Replayed { hostname: &summary.meta.hostname, data: &data, container: container.as_deref(), table: &table, users: &users });
            }
            FrameKind::End => summary.end = Some(json(kind, offset, frame.payload)?),
        }
    }
    if builder.is_none() {
        return Err(ReplayError::Frame { offset: data.len() as u64, kind: FrameKind::Meta, what: "the capture has no frames".into() });
    }
    Ok(summary)
}
