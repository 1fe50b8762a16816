//! Fuzz the Palisade capture reader and replay: any bytes after the magic and version must
//! replay or give a typed error naming a byte offset, never a panic or an unbounded
//! allocation (frames are bounded by `MAX_FRAME` and by the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_capture::recording::{self, replay};

fuzz_target!(|data: &[u8]| {
    let mut file = recording::MAGIC.to_vec();
    file.extend_from_slice(&recording::VERSION.to_le_bytes());
    file.extend_from_slice(data);
    let mut events = 0u64;
    match replay::run(&file, |ev| {
        events += 1;
        std::hint::black_box(ev.data.type_name);
    }) {
        Ok(summary) => assert_eq!(summary.events, events),
        Err(e) => {
            std::hint::black_box(e.to_string());
        }
    }
});
