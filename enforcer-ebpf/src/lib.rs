//! Palisade's kernel programs: the compiled BPF object and the Rust mirror of its ABI.
//!
//! Why C and not Rust for the kernel side: aya-ebpf has no CO-RE, so an object built against
//! one kernel's struct layouts was rejected by another kernel's verifier; C compiled by clang
//! with CO-RE relocations ran unchanged on 6.1 and 6.18 (see shared/notes/lsm-vm.md).

pub mod abi;
pub mod enforce_abi;

/// The layout checks of a C header (`ABI_SIZE(type, n);` and `ABI_OFFSET(type, field, n);`
/// lines, see `bpf/abi_assert.h`) as `(type, field, n)`, `field` empty for a size.
#[cfg(test)]
fn c_layout_checks(header: &str) -> Vec<(String, String, usize)> {
    header
        .lines()
        .filter_map(|l| {
            let (size, args) = match l.trim().strip_suffix(");")? {
                l if l.starts_with("ABI_SIZE(") => (true, &l["ABI_SIZE(".len()..]),
                l if l.starts_with("ABI_OFFSET(") => (false, &l["ABI_OFFSET(".len()..]),
                _ => return None,
            };
            let parts: Vec<&str> = args.split(',').map(str::trim).collect();
            let n = parts.last()?.parse().ok()?;
            match (size, parts.as_slice()) {
                (true, [ty, _]) => Some((ty.to_string(), String::new(), n)),
                (false, [ty, field, _]) => Some((ty.to_string(), field.to_string(), n)),
                _ => None,
            }
        })
        .collect()
}

#[cfg(feature = "objects")]
/// Bytes of a BPF object, aligned as aya's ELF parser requires.
#[repr(C, align(8))]
pub struct Aligned<T: ?Sized>(pub T);

#[cfg(feature = "objects")]
/// Every detection program (`palisade.bpf.c`): exec, fork and exit, and the syscall exits.
pub static PALISADE_OBJ: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/palisade.bpf.o")));

#[cfg(feature = "objects")]
/// The BPF-LSM enforcement programs (`enforce.bpf.c`, ABI in [`enforce_abi`]): loaded and pinned by palisade-lsm.
pub static ENFORCE_OBJ: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/enforce.bpf.o")));
