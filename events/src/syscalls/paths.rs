//! libsinsp's path concatenation (`sinsp_utils::concatenate_paths`), which produces the
//! "resolved" form of relative `PT_FSPATH`/`PT_FSRELPATH` parameters and the cwd after `chdir`
//! (`sinsp_threadinfo::update_cwd`).
//!
//! It is lexical: `.` and `..` components and repeated `/` are folded, symlinks are not
//! followed, and `..` never climbs above the first character of the base. The base is not
//! normalized and is expected to end with `/` (libsinsp keeps the cwd and directory-fd paths
//! that way; [`resolve_relative`] adds the `/`).

/// libsinsp's `SCAP_MAX_PATH_SIZE`.
const MAX_PATH_SIZE: usize = 4096;

/// `sinsp_utils::concatenate_paths(path1, path2)`: `path2` normalized and appended to `path1`
/// when `path2` is relative; `path2` alone (normalized) when it is absolute or empty.
pub fn concatenate_paths(path1: &str, path2: &str) -> String {
    if path1.len() + path2.len() + 1 > MAX_PATH_SIZE {
        return "/DIR_TOO_LONG/FILENAME_TOO_LONG".to_owned();
    }
    let path2 = path2.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(path1.len() + path2.len());
    if !path2.is_empty() && path2[0] != b'/' {
        out.extend_from_slice(path1.as_bytes());
    }
    copy_and_normalize(&mut out, path2);
    // Only whole UTF-8 sequences are ever removed (cuts happen right after a '/'), so this
    // does not replace anything.
    String::from_utf8_lossy(&out).into_owned()
}

/// The resolved form libsinsp gives a relative path parameter: `base_dir` (the cwd, or the
/// path of the dirfd; `/` appended when missing) joined with `path` by [`concatenate_paths`].
/// `None` when `path` is empty or absolute: libsinsp then has no resolved form and every field
/// shows `path` exactly as passed, not normalized (`sinsp_evt::get_param_as_str`).
pub fn resolve_relative(base_dir: &str, path: &str) -> Option<String> {
    if path.is_empty() || path.starts_with('/') {
        return None;
    }
    if base_dir.is_empty() || base_dir.ends_with('/') {
        Some(concatenate_paths(base_dir, path))
    } else {
        Some(concatenate_paths(&format!("{base_dir}/"), path))
    }
}

/// libsinsp's `copy_and_normalize_path`: appends `path` to `out` (which may already hold a
/// base), folding `//`, `./` and `../`; a trailing `/` is dropped unless the result is `/`.
fn copy_and_normalize(out: &mut Vec<u8>, path: &[u8]) {
    let empty_base = out.is_empty();
    let at = |i: usize| path.get(i).copied().filter(|&c| c != 0);
    let mut pc = 0;
    while let Some(c) = at(pc) {
        let after_separator = out.last().is_none_or(|&last| last == b'/');
        if c == b'.' && after_separator {
            match (at(pc + 1), at(pc + 2)) {
                (Some(b'.'), Some(b'/')) => {
                    rewind_to_parent(out);
                    pc += 3;
                }
                (Some(b'.'), None) => {
                    rewind_to_parent(out);
                    pc += 2;
                }
                (Some(b'/'), _) => pc += 2,
                (None, _) => pc += 1,
                _ => {
                    out.push(c);
                    pc += 1;
                }
            }
        } else if c == b'/' {
            // Skip a repeated separator, and a separator right after rewinding all the way
            // back into a base that was not empty ("foo/" + "../a" gives "a", not "/a").
            let repeated = out.last() == Some(&b'/');
            if repeated || (out.is_empty() && !empty_base) {
                pc += 1;
            } else {
                out.push(c);
                pc += 1;
            }
        } else {
            out.push(c);
            pc += 1;
        }
    }
    if out.len() > 1 && out.last() == Some(&b'/') {
        out.pop();
    }
}

/// libsinsp's `rewind_to_parent_path`: drop the last component (and its `/`), keeping at least
/// the first character.
fn rewind_to_parent(out: &mut Vec<u8>) {
    if out.len() <= 1 {
        return;
    }
    out.pop();
    while out.last().is_some_and(|&c| c != b'/') {
        out.pop();
    }
}
