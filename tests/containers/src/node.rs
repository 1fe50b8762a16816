//! A scratch Kubernetes node for the Helm chart's installer: `deploy/image/node-installer.sh`
//! run as the node itself (`PALISADE_HOST_ROOT=`), taking the node binaries from a directory
//! that stands in for the image's `/usr/local/bin` and placing them in a node directory that
//! stands in for `/opt/palisade`, both under one temporary directory removed on drop. The
//! installer edits the test bed's config.toml; containerd is restarted by the test, not by the
//! installer (its restart is systemd's, for real nodes).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::process::run_ok;

/// The scratch node. Drop it after the [`crate::Containerd`] whose pods run its binaries.
#[derive(Debug)]
pub struct Node {
    dir: PathBuf,
}

impl Node {
    /// A node whose image holds `hook`, `wrapper` and the static `init` (copied, as the image
    /// holds copies).
    pub fn new(hook: &Path, wrapper: &Path, init: &Path) -> Result<Node> {
        let node = Node { dir: std::env::temp_dir().join(crate::unique_name("palisade-node")) };
        let source = node.source();
        std::fs::create_dir_all(&source).map_err(|e| Error::io(format!("create {}", source.display()), e))?;
        for (name, from) in [("palisade-hook", hook), ("palisade-runc", wrapper), ("palisade-init", init)] {
            std::fs::copy(from, source.join(name)).map_err(|e| Error::io(format!("copy {}", from.display()), e))?;
        }
        Ok(node)
    }

    /// The image's binaries (the installer's `PALISADE_SOURCE_DIR`).
    fn source(&self) -> PathBuf {
        self.dir.join("image-bin")
    }

    /// The node's `/opt/palisade` (the installer's `PALISADE_NODE_DIR`).
    pub fn node_dir(&self) -> PathBuf {
        self.dir.join("opt-palisade")
    }

    /// The node's hook configuration the installer writes (its `PALISADE_HOOK_CONFIG`).
    pub fn hook_config(&self) -> PathBuf {
        self.dir.join("etc/palisade/hook.json")
    }

    /// The installed runc wrapper the runtime handler names.
    pub fn wrapper(&self) -> PathBuf {
        self.node_dir().join("bin/palisade-runc")
    }

    /// Runs `node-installer.sh ACTION` (`install`, `uninstall`) on containerd's `config`;
    /// returns what it printed.
    pub fn installer(&self, action: &str, config: &Path) -> Result<String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/image/node-installer.sh");
        let mut cmd = Command::new("sh");
        cmd.arg(script).arg(action);
        cmd.env("PALISADE_HOST_ROOT", "")
            .env("PALISADE_NODE_DIR", self.node_dir())
            .env("PALISADE_SOURCE_DIR", self.source())
            .env("PALISADE_CONTAINERD_CONFIG", config)
            // The node's hook.json in the scratch node, never this machine's /etc/palisade.
            .env("PALISADE_HOOK_CONFIG", self.hook_config())
            .env("PALISADE_RESTART_CONTAINERD", "false");
        Ok(run_ok(&mut cmd, None, Duration::from_secs(60))?.stdout)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
