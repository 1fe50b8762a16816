//! OCI image archives built by hand from the host's static busybox: no registry is reachable here.
//!
//! An archive is an OCI image layout in a tar (`oci-layout`, `index.json`, `blobs/sha256/*`) holding one
//! manifest, one config and one uncompressed layer. The manifest's descriptor in `index.json` carries
//! `io.containerd.image.name` (the full name `ctr images import` uses) and
//! `org.opencontainers.image.ref.name` (the tag). Archives are built once per process per spec.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// PATH inside every image.
pub const IMAGE_PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One regular file put into an image.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageFile {
    /// Absolute path inside the image.
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
    /// Permission bits (`0o755`).
    pub mode: u32,
}

/// What to build: busybox with all its applets, a root user, `/tmp`, `/var/log/app.log`, plus `files` and
/// `symlinks` (which replace applet links of the same path).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageSpec {
    /// Full image name (`docker.io/library/nginx:1.25`).
    pub name: String,
    /// Extra files.
    pub files: Vec<ImageFile>,
    /// Extra symlinks: (absolute link path, target).
    pub symlinks: Vec<(String, String)>,
    /// Extra hard links: (absolute link path, absolute path of a file of the image).
    pub hardlinks: Vec<(String, String)>,
    /// Config `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// Config `Cmd`.
    pub cmd: Vec<String>,
    /// Config `Env` (`KEY=value`); [`IMAGE_PATH_ENV`] is always first.
    pub env: Vec<String>,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A `#!/bin/sh` script printing `fake <name> <args>` and exiting 0.
fn fake_tool(name: &str) -> Vec<u8> {
    format!("#!/bin/sh\necho \"fake {name} $*\"\nexit 0\n").into_bytes()
}

impl ImageSpec {
    /// busybox only, `Cmd` = `sh`.
    pub fn new(name: &str) -> ImageSpec {
        ImageSpec {
            name: name.to_string(),
            files: Vec::new(),
            symlinks: Vec::new(),
            hardlinks: Vec::new(),
            entrypoint: Vec::new(),
            cmd: strings(&["sh"]),
            env: Vec::new(),
        }
    }

    /// Adds a file.
    pub fn file(mut self, path: &str, bytes: impl Into<Vec<u8>>, mode: u32) -> ImageSpec {
        self.files.push(ImageFile { path: path.to_string(), bytes: bytes.into(), mode });
        self
    }

    /// Adds a symlink `path -> target`.
    pub fn symlink(mut self, path: &str, target: &str) -> ImageSpec {
        self.symlinks.push((path.to_string(), target.to_string()));
        self
    }

    /// Adds a hard link `path` to the image's file `existing` (one inode, two names).
    pub fn hardlink(mut self, path: &str, existing: &str) -> ImageSpec {
        self.hardlinks.push((path.to_string(), existing.to_string()));
        self
    }

    /// Renames the image (same content).
    pub fn named(mut self, name: &str) -> ImageSpec {
        self.name = name.to_string();
        self
    }

    /// Sets `Entrypoint`.
    pub fn entrypoint(mut self, args: &[&str]) -> ImageSpec {
        self.entrypoint = strings(args);
        self
    }

    /// Sets `Cmd`.
    pub fn cmd(mut self, args: &[&str]) -> ImageSpec {
        self.cmd = strings(args);
        self
    }

    /// Adds an environment variable `KEY=value`.
    pub fn env(mut self, kv: &str) -> ImageSpec {
        self.env.push(kv.to_string());
        self
    }

    /// The archive bytes, built on first use and cached for the process.
    pub fn archive(&self) -> Result<Arc<Vec<u8>>> {
        static CACHE: OnceLock<Mutex<HashMap<ImageSpec, Arc<Vec<u8>>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(a) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(self) {
            return Ok(a.clone());
        }
        let built = Arc::new(build_archive(self)?);
        cache.lock().unwrap_or_else(|p| p.into_inner()).insert(self.clone(), built.clone());
        Ok(built)
    }
}

/// The CRI sandbox image ([`crate::PAUSE_IMAGE`]): `/pause` sleeps until SIGTERM or SIGINT, then exits 0.
pub fn pause() -> ImageSpec {
    let script = "#!/bin/sh\n# Stands in for the pause binary: PID 1 ignores signals it has no handler for.\n\
                  trap 'exit 0' TERM INT\nwhile :; do sleep 3600 & wait $!; done\n";
    ImageSpec::new(crate::PAUSE_IMAGE).file("/pause", script, 0o755).entrypoint(&["/pause"]).cmd(&[])
}

/// A plain busybox image named `name`.
pub fn busybox(name: &str) -> ImageSpec {
    ImageSpec::new(name)
}

/// `docker.io/library/nginx:1.25`: busybox plus `/usr/sbin/nginx`, a script that serves nothing, runs
/// until SIGTERM and appends to `/var/log/nginx/access.log`. `Cmd` = `nginx -g daemon off;`.
pub fn nginx() -> ImageSpec {
    let script = "#!/bin/sh\ntrap 'exit 0' TERM INT\necho \"nginx started $*\" >> /var/log/nginx/access.log\n\
                  while :; do sleep 3600 & wait $!; done\n";
    ImageSpec::new("docker.io/library/nginx:1.25")
        .file("/usr/sbin/nginx", script, 0o755)
        .file("/etc/nginx/nginx.conf", "events {}\nhttp {}\n", 0o644)
        .file("/var/log/nginx/access.log", "", 0o644)
        .cmd(&["nginx", "-g", "daemon off;"])
}

/// `docker.io/library/debian:12`: busybox plus a real (static) `/bin/bash` and fake package managers
/// (`apt-get`, `dpkg`, `apk`, `pip`) that print `fake <name> <args>` and exit 0. `Cmd` = `bash`.
///
/// Debian's busybox has no `bash` applet (`busybox bash` says "applet not found"), so `/bin/bash` is
/// the host's `bash-static`, which also makes `/proc/PID/comm` read `bash`.
pub fn debian() -> Result<ImageSpec> {
    let bash_path = find_program("bash-static")?;
    let bash = std::fs::read(&bash_path).map_err(|e| Error::io(format!("read {}", bash_path.display()), e))?;
    Ok(ImageSpec::new("docker.io/library/debian:12")
        .file("/bin/bash", bash, 0o755)
        .file("/usr/bin/apt-get", fake_tool("apt-get"), 0o755)
        .file("/usr/bin/dpkg", fake_tool("dpkg"), 0o755)
        .file("/sbin/apk", fake_tool("apk"), 0o755)
        .file("/usr/bin/pip", fake_tool("pip"), 0o755)
        .file("/etc/debian_version", "12.0\n", 0o644)
        .cmd(&["bash"]))
}

/// `docker.io/library/hardened:1`: busybox, a static `/bin/bash`, a fake `/usr/bin/apt-get`
/// script, the static test probe as `/usr/local/bin/probe` (the entrypoint; `Cmd` = `sleep 300`),
/// an `/etc/passwd` and `/var/cache/app/`: the image enforcement tests confine.
pub fn hardened(probe: &Path) -> Result<ImageSpec> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| Error::io(format!("read {}", p.display()), e));
    let bash = find_program("bash-static")?;
    Ok(ImageSpec::new("docker.io/library/hardened:1")
        .file("/bin/bash", read(&bash)?, 0o755)
        // Shells where no program directory list would look: by name, by hard link, by bytes.
        .file("/opt/tools/bash", read(&bash)?, 0o755)
        .hardlink("/usr/lib/x/sh2", "/bin/bash")
        .file("/usr/libexec/helper", read(&bash)?, 0o755)
        .file("/usr/bin/apt-get", "#!/bin/sh\necho fake apt-get \"$@\"\n", 0o755)
        .file("/usr/local/bin/probe", read(probe)?, 0o755)
        .file("/var/cache/app/.keep", "", 0o644)
        .file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644)
        .entrypoint(&["/usr/local/bin/probe"])
        .cmd(&["sleep 300"]))
}

/// The full path of `name` on PATH, or [`Error::Missing`] naming the install script.
pub fn find_program(name: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::Missing {
            what: format!("program {name}"),
            hint: "run tests/containers/install-deps.sh as root".into(),
        })
}

/// Applet paths (relative, `usr/bin/tail`) of the host's busybox.
fn busybox_applets(busybox: &Path) -> Result<Vec<String>> {
    let mut cmd = std::process::Command::new(busybox);
    cmd.arg("--list-full");
    let out = crate::process::run_ok(&mut cmd, None, std::time::Duration::from_secs(10))?;
    Ok(out.stdout.lines().map(|l| l.trim().trim_start_matches('/').to_string()).filter(|l| !l.is_empty()).collect())
}

/// One entry of the layer, keyed by its relative path.
enum Entry {
    File(Vec<u8>, u32),
    Link(String),
    /// A hard link to this (relative) path, written after every file.
    HardLink(String),
}

fn tar_error(what: &str, e: std::io::Error) -> Error {
    Error::io(format!("build image tar: {what}"), e)
}

/// The layer tar: parent directories first, then files and links in path order.
fn build_layer(spec: &ImageSpec) -> Result<Vec<u8>> {
    let busybox_path = find_program("busybox")?;
    let busybox = std::fs::read(&busybox_path).map_err(|e| Error::io(format!("read {}", busybox_path.display()), e))?;
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for applet in busybox_applets(&busybox_path)? {
        entries.insert(applet, Entry::Link("/bin/busybox".into()));
    }
    entries.insert("bin/busybox".into(), Entry::File(busybox, 0o755));
    let base: [(&str, &str, u32); 6] = [
        ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0o644),
        ("etc/group", "root:x:0:\nnogroup:x:65534:\n", 0o644),
        ("etc/shadow", "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0o640),
        ("etc/hostname", "palisade-testbed\n", 0o644),
        ("etc/os-release", "NAME=\"Palisade test bed\"\nID=palisade-testbed\n", 0o644),
        ("var/log/app.log", "palisade test bed log\n", 0o644),
    ];
    for (path, text, mode) in base {
        entries.insert(path.into(), Entry::File(text.as_bytes().to_vec(), mode));
    }
    for f in &spec.files {
        let rel = relative(&f.path)?;
        entries.insert(rel, Entry::File(f.bytes.clone(), f.mode));
    }
    for (link, target) in &spec.symlinks {
        entries.insert(relative(link)?, Entry::Link(target.clone()));
    }
    for (link, existing) in &spec.hardlinks {
        entries.insert(relative(link)?, Entry::HardLink(relative(existing)?));
    }

    let mut dirs: BTreeSet<String> =
        ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "tmp", "var/log", "proc", "sys", "dev", "run"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    for path in entries.keys() {
        let mut p = Path::new(path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_string_lossy().into_owned());
            p = d.parent();
        }
    }
    let mut all_dirs: BTreeSet<String> = BTreeSet::new();
    for d in &dirs {
        let mut p = Some(Path::new(d.as_str()));
        while let Some(x) = p.filter(|x| !x.as_os_str().is_empty()) {
            all_dirs.insert(x.to_string_lossy().into_owned());
            p = x.parent();
        }
    }

    let mut tar = tar::Builder::new(Vec::new());
    // BTreeSet order puts a parent before its children ("usr" < "usr/bin").
    for d in &all_dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(if d == "tmp" { 0o1777 } else { 0o755 });
        h.set_size(0);
        h.set_mtime(0);
        tar.append_data(&mut h, format!("{d}/"), std::io::empty()).map_err(|e| tar_error(d, e))?;
    }
    // Hard links last: their target must come earlier in the archive.
    let (links, others): (Vec<_>, Vec<_>) = entries.iter().partition(|(_, e)| matches!(e, Entry::HardLink(_)));
    for (path, entry) in others.into_iter().chain(links) {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        match entry {
            Entry::File(bytes, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(bytes.len() as u64);
                tar.append_data(&mut h, path, bytes.as_slice()).map_err(|e| tar_error(path, e))?;
            }
            Entry::Link(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                tar.append_link(&mut h, path, target).map_err(|e| tar_error(path, e))?;
            }
            Entry::HardLink(existing) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_mode(0o755);
                h.set_size(0);
                tar.append_link(&mut h, path, existing).map_err(|e| tar_error(path, e))?;
            }
        }
    }
    tar.into_inner().map_err(|e| tar_error("finish layer", e))
}

fn relative(path: &str) -> Result<String> {
    let rel = path.trim_start_matches('/');
    if !path.starts_with('/') || rel.is_empty() || rel.split('/').any(|c| c == ".." || c.is_empty()) {
        return Err(Error::Invalid(format!("image path must be absolute and normal: {path:?}")));
    }
    Ok(rel.to_string())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The OCI architecture name of this machine.
fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn build_archive(spec: &ImageSpec) -> Result<Vec<u8>> {
    let tag = spec.name.rsplit_once(':').filter(|(_, t)| !t.contains('/')).map_or("latest", |(_, t)| t);
    let layer = build_layer(spec)?;
    let layer_hex = sha256_hex(&layer);
    let mut env = vec![IMAGE_PATH_ENV.to_string()];
    env.extend(spec.env.iter().cloned());
    let config = json!({
        "architecture": oci_arch(),
        "os": "linux",
        "config": { "Entrypoint": spec.entrypoint, "Cmd": spec.cmd, "Env": env, "WorkingDir": "/" },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{layer_hex}")] },
        "history": [{ "created_by": "palisade-testbed" }],
    });
    let config = serde_json::to_vec(&config).map_err(|e| Error::Invalid(format!("config JSON: {e}")))?;
    let config_hex = sha256_hex(&config);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": format!("sha256:{config_hex}"), "size": config.len() },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar",
                     "digest": format!("sha256:{layer_hex}"), "size": layer.len() }],
    });
    let manifest = serde_json::to_vec(&manifest).map_err(|e| Error::Invalid(format!("manifest JSON: {e}")))?;
    let manifest_hex = sha256_hex(&manifest);
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_hex}"),
            "size": manifest.len(),
            "platform": { "architecture": oci_arch(), "os": "linux" },
            "annotations": {
                "io.containerd.image.name": spec.name,
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    });
    let index = serde_json::to_vec(&index).map_err(|e| Error::Invalid(format!("index JSON: {e}")))?;

    let mut tar = tar::Builder::new(Vec::new());
    let files: [(String, &[u8]); 5] = [
        ("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#),
        ("index.json".into(), &index),
        (format!("blobs/sha256/{manifest_hex}"), &manifest),
        (format!("blobs/sha256/{config_hex}"), &config),
        (format!("blobs/sha256/{layer_hex}"), &layer),
    ];
    for (path, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(bytes.len() as u64);
        h.set_mtime(0);
        tar.append_data(&mut h, &path, bytes).map_err(|e| tar_error(&path, e))?;
    }
    tar.into_inner().map_err(|e| tar_error("finish archive", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_checked() {
        assert_eq!(relative("/usr/bin/x").ok().as_deref(), Some("usr/bin/x"));
        assert!(relative("usr/bin/x").is_err());
        assert!(relative("/a/../b").is_err());
        assert!(relative("/").is_err());
    }

    #[test]
    fn fake_tool_echoes_its_name() {
        let s = String::from_utf8(fake_tool("apt-get")).unwrap_or_default();
        assert!(s.starts_with("#!/bin/sh\n") && s.contains("fake apt-get $*"), "{s}");
    }
}
