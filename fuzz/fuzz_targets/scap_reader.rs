//! Fuzz the `.scap` reader: any bytes (plain or gzip) must give blocks or a typed error,
//! never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_scap::{Block, Capture};

fuzz_target!(|data: &[u8]| {
    // A small decompression bound keeps gzip bombs cheap.
    let Ok(cap) = Capture::from_bytes(data.to_vec(), 1 << 20) else { return };
    let Ok(reader) = cap.reader() else { return };
    for block in reader {
        match block {
            Ok(Block::Event(ev)) => {
                let _ = ev.schema();
                for p in ev.params() {
                    std::hint::black_box(p);
                }
            }
            Ok(_) => {}
            Err(e) => {
                let _ = e.offset();
                break;
            }
        }
    }
});
