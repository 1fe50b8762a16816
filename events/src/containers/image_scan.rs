//! Whole-image identity: every file of a container's image that its profile says must not run,
//! wherever it sits and under whatever name, found before the container starts. Both backends
//! use it: Landlock denies the paths (`deny_execute`), BPF-LSM the (device, inode) identities.
//!
//! What counts as denied, in four passes over one walk of the rootfs:
//! 1. **by name**: a regular file whose name is a shell (multi-call binaries such as busybox
//!    included) or a package manager (`palisade_profiles::catalog`), or whose container path
//!    matches an `exec.deny` glob, anywhere in the image (not only in the bin directories:
//!    `/opt/tools/bash` is a shell);
//! 2. **by link**: a symbolic link with such a name or path denies what it resolves to, resolved
//!    inside the rootfs (an absolute target is relative to the rootfs, never to the host), and
//!    is reported only as that file: Landlock judges files, not the names leading to them;
//! 3. **by content**: a regular *executable* file with exactly the size and the bytes of a file
//!    denied so far (a copy of bash under another name, made when the image was built). Empty
//!    files are never compared: they hold no program;
//! 4. **by inode**: every other path of a denied (device, inode): hard links.
//!
//! Invariants: the walk never follows a symbolic link and never descends into a directory on
//! another device than the rootfs (another mount); it reads at most [`MAX_ENTRIES`] directory
//! entries and fails past that, like on any unreadable directory: a scan that did not see the
//! whole image cannot promise what it did not see, so the caller refuses to confine (and
//! `fail_closed` refuses the container) instead of confining with a partial list.
//!
//! Cost: one `lstat` per entry, reads only for same-size executables of a denied file. Measured
//! with `cargo test -p palisade-events --lib image_scan::tests::bench -- --ignored --nocapture`
//! (`PALISADE_BENCH_IMAGE=DIR` scans an existing tree instead of a synthetic 60,000-file one).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use palisade_profiles::{catalog, Profile};

/// Directory entries read per scan at most (files, directories and links together). Large
/// images (CUDA, ML frameworks) hold 100,000–300,000; past this limit the scan fails.
pub const MAX_ENTRIES: usize = 1_000_000;

/// Why an image could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The rootfs or one of its directories or files could not be read.
    #[error("image scan: read {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    /// The rootfs is not a directory.
    #[error("image scan: rootfs {} is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    /// More entries than the limit.
    #[error("image scan: more than {limit} entries in {} (the limit of one scan); the image was not confined", rootfs.display())]
    TooManyEntries { rootfs: PathBuf, limit: usize },
    /// A denied file whose path is not UTF-8: a Landlock policy (JSON) cannot name it.
    #[error("image scan: denied file {} has a path that is not UTF-8; the Landlock policy cannot name it", path.display())]
    Unnameable { path: PathBuf },
}

/// Why a file must not run; ordered by precedence (a file denied for several reasons is
/// reported with the first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DenyKind {
    /// Matches an `exec.deny` pattern.
    Denied,
    /// A shell (`deny_shells`).
    Shell,
    /// A package manager (`deny_package_managers`).
    PackageManager,
}

/// How a denied path was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// By its own name or path.
    Name,
    /// As the target of this symbolic link (container path).
    Link(String),
    /// Same bytes as this denied file (container path).
    Copy(String),
    /// Same inode as this denied path (a hard link).
    HardLink(String),
}

/// One denied path of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedFile {
    /// As the container sees it (`/opt/tools/bash`).
    pub path: PathBuf,
    /// `st_dev` and `st_ino` as stat(2) of the merged rootfs reports them.
    pub dev: u64,
    pub ino: u64,
    pub kind: DenyKind,
    pub found: Found,
}

/// The result of a scan.
#[derive(Debug, Clone, Default)]
pub struct ImageScan {
    /// Every denied path, sorted by path; one file may appear under several paths.
    pub denied: Vec<DeniedFile>,
    /// Directory entries read.
    pub entries: usize,
    /// Files whose bytes were compared with a denied file.
    pub compared: usize,
}

impl ImageScan {
    /// One (dev, ino, kind) per denied file, the strongest kind of its names.
    pub fn identities(&self) -> Vec<(u64, u64, DenyKind)> {
        let mut best: HashMap<(u64, u64), DenyKind> = HashMap::new();
        for d in &self.denied {
            best.entry((d.dev, d.ino)).and_modify(|k| *k = (*k).min(d.kind)).or_insert(d.kind);
        }
        let mut out: Vec<(u64, u64, DenyKind)> = best.into_iter().map(|((dev, ino), k)| (dev, ino, k)).collect();
        out.sort_unstable();
        out
    }
}

/// The denied programs of one container's image by container path, as user space judges
/// execs: the profile's exec denial each path stands for, and how it was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeniedPrograms(BTreeMap<String, (palisade_profiles::ExecDenial, Found)>);

impl DeniedPrograms {
    /// The denied programs of `scan` under `profile`; an `exec.deny` denial names the pattern
    /// that matched the file's original path.
    pub fn from_scan(scan: &ImageScan, profile: &Profile) -> DeniedPrograms {
        use palisade_profiles::ExecDenial;
        let mut out = BTreeMap::new();
        for d in &scan.denied {
            let Some(path) = d.path.to_str() else { continue };
            let origin = match &d.found {
                Found::Name => path,
                Found::Link(o) | Found::Copy(o) | Found::HardLink(o) => o.as_str(),
            };
            let denial = match d.kind {
                DenyKind::Shell => ExecDenial::Shell,
                DenyKind::PackageManager => ExecDenial::PackageManager,
                DenyKind::Denied => {
                    let glob = profile.exec.deny.iter().find(|g| g.matches(origin) || g.matches(path));
                    ExecDenial::Denied(glob.map_or_else(|| origin.to_owned(), |g| g.as_str().to_owned()))
                }
            };
            out.insert(path.to_owned(), (denial, d.found.clone()));
        }
        DeniedPrograms(out)
    }

    /// The denial of an exec of `path`, with how the file was found, if it is denied.
    pub fn get(&self, path: &str) -> Option<&(palisade_profiles::ExecDenial, Found)> {
        self.0.get(path)
    }

    /// The entries as a capture stores them: (path, `shell` | `package_manager` | `deny PATTERN`).
    pub fn to_entries(&self) -> Vec<(String, String)> {
        use palisade_profiles::ExecDenial;
        self.0
            .iter()
            .map(|(path, (denial, _))| {
                let kind = match denial {
                    ExecDenial::Shell => "shell".to_owned(),
                    ExecDenial::PackageManager => "package_manager".to_owned(),
                    ExecDenial::Denied(p) => format!("deny {p}"),
                    ExecDenial::NotAllowed => "not_allowed".to_owned(),
                };
                (path.clone(), kind)
            })
            .collect()
    }

    /// The inverse of [`DeniedPrograms::to_entries`]; unknown kinds are an error naming them.
    pub fn from_entries(entries: Vec<(String, String)>) -> Result<DeniedPrograms, String> {
        use palisade_profiles::ExecDenial;
        let mut out = BTreeMap::new();
        for (path, kind) in entries {
            let denial = match kind.as_str() {
                "shell" => ExecDenial::Shell,
                "package_manager" => ExecDenial::PackageManager,
                "not_allowed" => ExecDenial::NotAllowed,
                k => match k.strip_prefix("deny ") {
                    Some(p) => ExecDenial::Denied(p.to_owned()),
                    None => return Err(format!("denied program {path}: unknown kind {k:?}")),
                },
            };
            out.insert(path, (denial, Found::Name));
        }
        Ok(DeniedPrograms(out))
    }

    /// How many paths are denied.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What the profile denies by name.
struct Wanted<'a> {
    profile: &'a Profile,
}

impl Wanted<'_> {
    fn kind(&self, path: &str) -> Option<DenyKind> {
        let p = self.profile;
        if p.exec.deny.iter().any(|g| g.matches(path)) {
            Some(DenyKind::Denied)
        } else if p.deny_shells && catalog::is_shell(path) {
            Some(DenyKind::Shell)
        } else if p.deny_package_managers && catalog::is_package_manager(path) {
            Some(DenyKind::PackageManager)
        } else {
            None
        }
    }
}

/// A regular file met on the walk.
struct Seen {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

/// Scans the image at `rootfs` (the merged rootfs as the daemon sees it) for what `profile`
/// denies, reading at most `limit` entries.
pub fn scan(rootfs: &Path, profile: &Profile, limit: usize) -> Result<ImageScan, ScanError> {
    let unreadable = |path: &Path| {
        let path = path.to_owned();
        move |source| ScanError::Unreadable { path, source }
    };
    let root_meta = std::fs::metadata(rootfs).map_err(unreadable(rootfs))?;
    if !root_meta.is_dir() {
        return Err(ScanError::NotADirectory { path: rootfs.to_owned() });
    }
    let wanted = Wanted { profile };
    let mut out = ImageScan::default();
    let mut denied: Vec<DeniedFile> = Vec::new();
    let mut links: Vec<(PathBuf, DenyKind)> = Vec::new();
    // Executables by size (content identity) and multiply-linked files by inode.
    let mut by_size: HashMap<u64, Vec<Seen>> = HashMap::new();
    let mut by_inode: HashMap<(u64, u64), Vec<PathBuf>> = HashMap::new();
    let mut dirs: Vec<PathBuf> = vec![PathBuf::from("/")];
    while let Some(dir) = dirs.pop() {
        let host_dir = host_path(rootfs, &dir);
        for entry in std::fs::read_dir(&host_dir).map_err(unreadable(&host_dir))? {
            let entry = entry.map_err(unreadable(&host_dir))?;
            out.entries += 1;
            if out.entries > limit {
                return Err(ScanError::TooManyEntries { rootfs: rootfs.to_owned(), limit });
            }
            let path = dir.join(entry.file_name());
            let meta = entry.metadata().map_err(unreadable(&entry.path()))?;
            let text = path.to_string_lossy();
            if meta.is_dir() {
                // Another device: a mount inside the rootfs, not the image.
                if meta.dev() == root_meta.dev() {
                    dirs.push(path);
                }
            } else if meta.file_type().is_symlink() {
                if let Some(kind) = wanted.kind(&text) {
                    links.push((path, kind));
                }
            } else if meta.is_file() {
                let (dev, ino) = (meta.dev(), meta.ino());
                if let Some(kind) = wanted.kind(&text) {
                    denied.push(DeniedFile { path: path.clone(), dev, ino, kind, found: Found::Name });
                }
                if meta.nlink() > 1 {
                    by_inode.entry((dev, ino)).or_default().push(path.clone());
                }
                if meta.mode() & 0o111 != 0 && meta.len() > 0 {
                    by_size.entry(meta.len()).or_default().push(Seen { path, dev, ino });
                }
            }
        }
    }
    for (link, kind) in links {
        let Some(target) = palisade_lsm::policy::resolve_in_root(rootfs, &link.to_string_lossy()) else { continue };
        let Ok(meta) = std::fs::symlink_metadata(&target) else { continue };
        let Ok(inside) = target.strip_prefix(rootfs) else { continue };
        if meta.is_file() {
            let found = Found::Link(link.to_string_lossy().into_owned());
            denied.push(DeniedFile { path: Path::new("/").join(inside), dev: meta.dev(), ino: meta.ino(), kind, found });
        }
    }
    copies(rootfs, &mut denied, &by_size, &mut out.compared)?;
    hard_links(&mut denied, &by_inode);
    denied.sort_by(|a, b| (&a.path, a.kind).cmp(&(&b.path, b.kind)));
    denied.dedup_by(|later, earlier| later.path == earlier.path);
    out.denied = denied;
    Ok(out)
}

/// Pass 3: executables with the bytes of a denied file.
fn copies(rootfs: &Path, denied: &mut Vec<DeniedFile>, by_size: &HashMap<u64, Vec<Seen>>, compared: &mut usize) -> Result<(), ScanError> {
    let mut ids: HashSet<(u64, u64)> = denied.iter().map(|d| (d.dev, d.ino)).collect();
    let originals: Vec<DeniedFile> = denied.clone();
    for original in &originals {
        let host = host_path(rootfs, &original.path);
        let size = std::fs::symlink_metadata(&host).map_err(|source| ScanError::Unreadable { path: host.clone(), source })?.len();
        let Some(candidates) = by_size.get(&size) else { continue };
        for c in candidates {
            if ids.contains(&(c.dev, c.ino)) {
                continue;
            }
            *compared += 1;
            if same_bytes(&host, &host_path(rootfs, &c.path))? {
                ids.insert((c.dev, c.ino));
                let found = Found::Copy(original.path.to_string_lossy().into_owned());
                denied.push(DeniedFile { path: c.path.clone(), dev: c.dev, ino: c.ino, kind: original.kind, found });
            }
        }
    }
    Ok(())
}

/// Pass 4: every other name of a denied inode.
fn hard_links(denied: &mut Vec<DeniedFile>, by_inode: &HashMap<(u64, u64), Vec<PathBuf>>) {
    let named: Vec<DeniedFile> = denied.clone();
    for d in named {
        for other in by_inode.get(&(d.dev, d.ino)).into_iter().flatten().filter(|p| **p != d.path) {
            let found = Found::HardLink(d.path.to_string_lossy().into_owned());
            denied.push(DeniedFile { path: other.clone(), found, ..d.clone() });
        }
    }
}

/// Whether two files of the same size hold the same bytes.
fn same_bytes(a: &Path, b: &Path) -> Result<bool, ScanError> {
    let open = |p: &Path| File::open(p).map_err(|source| ScanError::Unreadable { path: p.to_owned(), source });
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(|source| ScanError::Unreadable { path: a.to_owned(), source })?;
        let nb = read_full(&mut fb, &mut bb).map_err(|source| ScanError::Unreadable { path: b.to_owned(), source })?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// Fills `buf` as far as the file goes.
fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// `path` (absolute, as the container sees it) beneath `rootfs`, without resolving anything.
fn host_path(rootfs: &Path, path: &Path) -> PathBuf {
    rootfs.join(path.strip_prefix("/").unwrap_or(path))
}

#[cfg(test)]
#[path = "image_scan_tests.rs"]
mod tests;
