//! The syscall-source fields that are `<NA>` by design: the one list of every registry field
//! (or argument form) for which Palisade supplies no value on any event, each with the reason.
//!
//! A field here is accepted in conditions and outputs (so upstream rules load) and always
//! yields `<NA>`, as the same field does in Falco where Falco lacks the data too. Every other
//! registry field has an extractor (`palisade-events`' `event` module) that yields a value on
//! the events it applies to; the events crate's `registry_audit_tests` enumerates the whole
//! registry against built events of each kind and fails for a field that is `<NA>` everywhere
//! but not listed here, and for a listed field that yields a value. `docs/fields.md` renders
//! this list for users.
//!
//! An entry names a field (`evt.cpu`), a field's bracketed forms only (`proc.aenv[]`), or a
//! family by prefix (`k8s.rc.*`).

/// One field (or group) that is `<NA>` by design.
#[derive(Clone, Copy, Debug)]
pub struct Unsupplied {
    /// A field name, `name[]` for its argument forms only, or `prefix.*` for a family.
    pub pattern: &'static str,
    /// Why Palisade has no value (and whether Falco has one).
    pub reason: &'static str,
}

const fn na(pattern: &'static str, reason: &'static str) -> Unsupplied {
    Unsupplied { pattern, reason }
}

/// Every syscall-source field that is `<NA>` by design (see the module docs).
#[rustfmt::skip]
pub static UNSUPPLIED: &[Unsupplied] = &[
    // Event timing and bookkeeping.
    na("evt.latency*", "Deprecated in Falco. The time between a syscall's enter and exit events: Palisade's kernel programs record the exit only."),
    na("evt.wait_latency", "Deprecated in Falco. Needs the enter event too, which Palisade does not record."),
    na("evt.deltatime*", "Time since the previous event: Palisade's kernel programs drop the events no rule needs, so the previous event Falco means is never seen."),
    na("evt.reltime*", "Time since the capture started: the daemon has no capture start (Falco counts from its own start, a value no upstream rule reads)."),
    na("evt.cpu", "The kernel record does not carry the CPU the event ran on."),
    na("evt.around[]", "Filter-only field for browsing capture files around a timestamp (sysdig); Falco's live engine never matches it either."),
    na("evt.asynctype", "Only asynchronous events have one (Falco: `<NA>` on syscall events); Palisade has no asynchronous syscall-source events."),
    na("evt.pluginname", "Plugin events only; syscall events have none (as in Falco)."),
    na("evt.plugininfo", "Plugin events only; syscall events have none (as in Falco)."),
    na("evt.infra.docker.*", "Docker infrastructure events only (Falco's docker engine events); Palisade watches containerd, not dockerd."),
    // Data buffers and files Palisade does not capture.
    na("evt.buffer", "Palisade does not copy I/O data buffers: no read/write payloads and no socket payloads are captured (Falco: `<NA>` on every event without a buffer)."),
    na("evt.buflen.file*", "Palisade captures no read/write of files, only socket sends and receives (those have `evt.buflen`, `evt.buflen.net*`)."),
    na("evt.is_open_create", "Whether an open created the file (the kernel's FMODE_CREATED): the exit record carries the requested flags, not the outcome."),
    na("fd.dev*", "The fd record carries the inode number (`fd.ino`) but not the device of its filesystem."),
    na("fd.is_upper_layer", "The fd record does not say which overlayfs layer a file is on (only execs do: `proc.is_exe_upper_layer`)."),
    na("fd.is_lower_layer", "The fd record does not say which overlayfs layer a file is on."),
    na("proc.is_exe_writable", "Falco's driver checks at exec whether the executable is writable by the caller; Palisade's exec program does not (a check after the fact would race with the file)."),
    na("fd.types", "Types of every fd of the process: Palisade does not keep processes' fd tables (it describes the one fd each event is about)."),
    na("fdlist.*", "Poll-style events only (poll, select, epoll): Palisade does not capture them, as no upstream rule reads them."),
    // Scheduler and resource counters.
    na("thread.cpu*", "CPU use comes from Falco's periodic procinfo events; Palisade samples no CPU time."),
    na("thread.exectime", "Needs scheduler switch events, which Palisade does not capture (Falco: 0 outside them)."),
    na("thread.totexectime", "Needs scheduler switch events, which Palisade does not capture."),
    na("thread.cgroups", "Palisade identifies a task's cgroup by its v2 id (which container it is in); it does not read the per-controller cgroup paths libsinsp lists."),
    na("thread.cgroup[]", "Palisade does not read per-controller cgroup paths (see thread.cgroups)."),
    // Container runtime and Kubernetes metadata Palisade is not given.
    na("container.image.id", "containerd's container record names the image, not its config digest (the image id)."),
    na("container.ip", "Palisade reads no CNI results: the pod's address is not in the container's record or its OCI spec."),
    na("container.cni.json", "Palisade reads no CNI results."),
    na("k8s.pod.ip", "Palisade reads no CNI results."),
    na("k8s.pod.cni.json", "Palisade reads no CNI results."),
    na("k8s.pod.sandbox_id", "The container's record gives the pod's name, namespace, uid and labels, not the sandbox id."),
    na("k8s.pod.full_sandbox_id", "The container's record gives the pod's name, namespace, uid and labels, not the sandbox id."),
    na("container.host_pid", "Not kept in Palisade's container metadata (the namespaces of the OCI spec are read for arming only)."),
    na("container.host_network", "Not kept in Palisade's container metadata."),
    na("container.host_ipc", "Not kept in Palisade's container metadata."),
    na("container.healthcheck", "Deprecated in Falco. Docker health checks and Kubernetes probes are not in containerd's records."),
    na("container.liveness_probe", "Deprecated in Falco. Kubernetes probes are not in containerd's records."),
    na("container.readiness_probe", "Deprecated in Falco. Kubernetes probes are not in containerd's records."),
    na("proc.is_container_healthcheck", "Deprecated in Falco. Needs the health-check command, which containerd's records do not carry."),
    na("proc.is_container_liveness_probe", "Deprecated in Falco. Needs the probe command, which containerd's records do not carry."),
    na("proc.is_container_readiness_probe", "Deprecated in Falco. Needs the probe command, which containerd's records do not carry."),
    na("k8s.ns.id", "Deprecated in Falco; from the k8smeta plugin, which Palisade does not run (Falco without it: `<NA>` too)."),
    na("k8s.ns.label*", "Deprecated in Falco; from the k8smeta plugin, which Palisade does not run (Falco without it: `<NA>` too)."),
    na("k8s.rc.*", "Deprecated in Falco; from the k8smeta plugin, which Palisade does not run (Falco without it: `<NA>` too)."),
    na("k8s.rs.*", "Deprecated in Falco; from the k8smeta plugin, which Palisade does not run (Falco without it: `<NA>` too)."),
    na("k8s.svc.*", "Deprecated in Falco; from the k8smeta plugin, which Palisade does not run (Falco without it: `<NA>` too)."),
    na("k8s.deployment.*", "Deprecated in Falco; from the k8smeta plugin, which Palisade does not run (Falco without it: `<NA>` too)."),
];

impl Unsupplied {
    /// Whether this entry covers `field` used with (`with_arg`) or without an argument.
    pub fn covers(&self, field: &str, with_arg: bool) -> bool {
        if let Some(prefix) = self.pattern.strip_suffix('*') {
            return field.starts_with(prefix);
        }
        if let Some(name) = self.pattern.strip_suffix("[]") {
            return with_arg && field == name;
        }
        self.pattern == field
    }
}

/// The reason `field` (with or without an argument) is `<NA>` by design, if it is.
pub fn unsupplied(field: &str, with_arg: bool) -> Option<&'static str> {
    UNSUPPLIED.iter().find(|u| u.covers(field, with_arg)).map(|u| u.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_list_every_entry_with_its_reason() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/fields.md");
        let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for u in UNSUPPLIED {
            let row = format!("| `{}` | {} |", u.pattern.replace("[]", "[...]"), u.reason);
            assert!(doc.contains(&row), "docs/fields.md lacks the row {row}");
        }
    }

    #[test]
    fn patterns_cover_as_documented() {
        assert_eq!(unsupplied("evt.latency.ns", false), unsupplied("evt.latency", false));
        assert!(unsupplied("k8s.rc.label", true).is_some());
        assert!(unsupplied("evt.around", true).is_some());
        assert!(unsupplied("evt.around", false).is_none(), "`[]` entries cover the argument forms only");
        assert!(unsupplied("proc.env", false).is_none());
    }
}
