//! Field table of the `syscall` source.
//!
//! Order: libsinsp's syscall-side field classes as libsinsp registers them (the generic `evt.*`
//! fields every source has, then `evt`, `util`, `proc`/`thread`, `user`, `group`, `fd`,
//! `fdlist`, `fs.path`), followed by the container plugin's `container.*` and `k8s.*` fields.
//!
//! Types are libsinsp's declared `ppm_param_type`s mapped onto [`FieldType`](super::FieldType).
//! Choices worth knowing:
//! - `evt.rawarg` is `PT_DYN` upstream (it takes the type of the named event parameter). It is
//!   registered as `Signed` because its practical use is numeric comparison
//!   (`evt.rawarg.res < 0`); a compiler that knows the parameter table can refine it.
//! - `evt.abspath` accepts only the bare name and the fixed suffixes `.src`/`.dst` upstream, so
//!   those are three plain entries rather than a dotted family.
//! - `thread.cgroup` and `evt.type.is` take their argument only as a dotted suffix upstream;
//!   they are `DottedOrBracketed`. The container plugin's `*.label` fields take a key in
//!   brackets or as a dotted suffix and are `DottedOrBracketed` as well.
//! - Plugin fields never carry `DEPRECATED`: libsinsp gives plugins no way to set that flag,
//!   so Falco does not warn about them even when their description says "deprecated".
//! - libsinsp's `EPF_TABLE_ONLY` (e.g. `evt.buflen.in`) has no counterpart here; such fields
//!   are ordinary entries.

use super::flags::{DEPRECATED, FILTER_ONLY, IS_LIST, NO_RHS, NO_TRANSFORMER, PRINT_ONLY};
use super::{field as f, ArgKind as A, FieldDef, FieldType as T};


#[rustfmt::skip]
pub(super) static FIELDS: &[FieldDef] = &[

    // Syscall event fields (libsinsp `evt`).
    f("evt.latency", T::RelTime, A::None, DEPRECATED, "Deprecated: nanoseconds between the enter and exit halves of a syscall."),
    f("evt.latency.s", T::RelTime, A::None, DEPRECATED, "Deprecated: seconds part of the syscall latency."),
    f("evt.latency.ns", T::RelTime, A::None, DEPRECATED, "Deprecated: sub-second part of the syscall latency."),
    f("evt.latency.quantized", T::Unsigned, A::None, DEPRECATED, "Deprecated: base-10 logarithm of the syscall latency."),
    f("evt.latency.human", T::Str, A::None, DEPRECATED, "Deprecated: syscall latency as readable text (e.g. `3.1ms`)."),
    f("evt.deltatime", T::RelTime, A::None, 0, "Nanoseconds since the previous event."),
    f("evt.deltatime.s", T::RelTime, A::None, 0, "Whole seconds since the previous event."),
    f("evt.deltatime.ns", T::RelTime, A::None, 0, "Sub-second part of the time since the previous event."),
    f("evt.outputtime", T::Str, A::None, PRINT_ONLY, "Timestamp rendered in the configured output time format."),
    f("evt.dir", T::Str, A::None, DEPRECATED, "Deprecated: `>` for enter events, `<` for exit events."),
    f("evt.type", T::Str, A::None, 0, "Event type name, e.g. `open` or `execve`."),
    f("evt.type.is", T::Unsigned, A::DottedOrBracketed, 0, "1 when the event has the type named in the suffix (`evt.type.is.open`), else 0."),
    f("syscall.type", T::Str, A::None, 0, "Syscall name for syscall events; empty for non-syscall events."),
    f("evt.category", T::Str, A::None, 0, "Broad category of the event (file, net, memory, process, ...)."),
    f("evt.cpu", T::Signed, A::None, 0, "CPU number the event was recorded on."),
    f("evt.args", T::Str, A::None, 0, "All event parameters joined into one string."),
    f("evt.arg", T::Str, A::DottedOrBracketed, 0, "One event parameter as text, chosen by name (`evt.arg.fd`) or position (`evt.arg[0]`)."),
    f("evt.rawarg", T::Signed, A::DottedOrBracketed, NO_RHS | NO_TRANSFORMER, "One event parameter in its native (unformatted) type, chosen by name."),
    f("evt.info", T::Str, A::None, 0, "Same text as `evt.args`."),
    f("evt.buffer", T::Bytes, A::None, 0, "Data buffer carried by I/O events such as read or sendto."),
    f("evt.buflen", T::Unsigned, A::None, 0, "Length of the data buffer carried by I/O events."),
    f("evt.res", T::Str, A::None, 0, "Return value as text: `SUCCESS` or an errno name such as `ENOENT`."),
    f("evt.rawres", T::Signed, A::None, 0, "Return value as a signed number (negative errno on failure)."),
    f("evt.failed", T::Bool, A::None, 0, "True when the event returned an error."),
    f("evt.is_io", T::Bool, A::None, 0, "True for events that read from or write to a file descriptor."),
    f("evt.is_io_read", T::Bool, A::None, 0, "True for events that read from a file descriptor."),
    f("evt.is_io_write", T::Bool, A::None, 0, "True for events that write to a file descriptor."),
    f("evt.io_dir", T::Str, A::None, 0, "`r` for read-type events, `w` for write-type events."),
    f("evt.is_wait", T::Bool, A::None, 0, "True for events that block the thread (sleep, poll, select, ...)."),
    f("evt.wait_latency", T::RelTime, A::None, DEPRECATED, "Deprecated: time a blocking event spent waiting, in nanoseconds."),
    f("evt.is_syslog", T::Bool, A::None, 0, "True for writes to /dev/log."),
    f("evt.count", T::Unsigned, A::None, 0, "Constant 1; handy for counting events."),
    f("evt.count.error", T::Unsigned, A::None, 0, "1 for events that failed, else 0."),
    f("evt.count.error.file", T::Unsigned, A::None, 0, "1 for failed file I/O events, else 0."),
    f("evt.count.error.net", T::Unsigned, A::None, 0, "1 for failed network I/O events, else 0."),
    f("evt.count.error.memory", T::Unsigned, A::None, 0, "1 for failed memory events, else 0."),
    f("evt.count.error.other", T::Unsigned, A::None, 0, "1 for failed events outside file, network and memory, else 0."),
    f("evt.count.exit", T::Unsigned, A::None, 0, "1 for exit events, else 0."),
    f("evt.count.procinfo", T::Unsigned, A::None, 0, "1 for procinfo events of a main thread, else 0."),
    f("evt.count.threadinfo", T::Unsigned, A::None, 0, "1 for procinfo events, else 0."),
    f("evt.around", T::Unsigned, A::RequiredIndex, FILTER_ONLY | NO_RHS | NO_TRANSFORMER, "Matches events within D ms of timestamp T: `evt.around[T] = D`. Filter only."),
    f("evt.abspath", T::Str, A::None, 0, "Absolute path resolved from a dirfd plus a relative name (e.g. renameat)."),
    f("evt.abspath.src", T::Str, A::None, 0, "Absolute source path for two-path syscalls (e.g. renameat)."),
    f("evt.abspath.dst", T::Str, A::None, 0, "Absolute destination path for two-path syscalls (e.g. renameat)."),
    f("evt.buflen.in", T::Unsigned, A::None, 0, "Buffer length of input I/O events only."),
    f("evt.buflen.out", T::Unsigned, A::None, 0, "Buffer length of output I/O events only."),
    f("evt.buflen.file", T::Unsigned, A::None, 0, "Buffer length of file I/O events only."),
    f("evt.buflen.file.in", T::Unsigned, A::None, 0, "Buffer length of file input events only."),
    f("evt.buflen.file.out", T::Unsigned, A::None, 0, "Buffer length of file output events only."),
    f("evt.buflen.net", T::Unsigned, A::None, 0, "Buffer length of network I/O events only."),
    f("evt.buflen.net.in", T::Unsigned, A::None, 0, "Buffer length of network input events only."),
    f("evt.buflen.net.out", T::Unsigned, A::None, 0, "Buffer length of network output events only."),
    f("evt.is_open_read", T::Bool, A::None, 0, "True for open-family events that opened the path for reading."),
    f("evt.is_open_write", T::Bool, A::None, 0, "True for open-family events that opened the path for writing."),
    f("evt.infra.docker.name", T::Str, A::None, 0, "Docker infrastructure event name."),
    f("evt.infra.docker.container.id", T::Str, A::None, 0, "Container id of a Docker infrastructure event."),
    f("evt.infra.docker.container.name", T::Str, A::None, 0, "Container name of a Docker infrastructure event."),
    f("evt.infra.docker.container.image", T::Str, A::None, 0, "Container image of a Docker infrastructure event."),
    f("evt.is_open_exec", T::Bool, A::None, 0, "True for open-family or creat events that create an executable file."),
    f("evt.is_open_create", T::Bool, A::None, 0, "True for open-family events that created the file."),

    // Utility (hidden in listings).
    f("util.cnt", T::Unsigned, A::None, 0, "Monotonically increasing counter (hidden utility field)."),

    // Process and thread fields (libsinsp `process`).
    f("proc.exe", T::Str, A::None, 0, "First command-line argument (argv[0]) of the process."),
    f("proc.pexe", T::Str, A::None, 0, "argv[0] of the parent process."),
    f("proc.aexe", T::Str, A::OptionalIndex, NO_RHS | NO_TRANSFORMER, "argv[0] of an ancestor; `proc.aexe[N]` picks the Nth, bare form matches any."),
    f("proc.exepath", T::Str, A::None, 0, "Full path of the process executable."),
    f("proc.pexepath", T::Str, A::None, 0, "Full executable path of the parent process."),
    f("proc.aexepath", T::Str, A::OptionalIndex, NO_RHS | NO_TRANSFORMER, "Executable path of an ancestor; `[N]` picks the Nth, bare form matches any."),
    f("proc.name", T::Str, A::None, 0, "Process name (executable basename, as in comm)."),
    f("proc.pname", T::Str, A::None, 0, "Name of the parent process."),
    f("proc.aname", T::Str, A::OptionalIndex, NO_RHS | NO_TRANSFORMER, "Name of an ancestor; `proc.aname[N]` picks the Nth, bare form matches any."),
    f("proc.args", T::Str, A::OptionalIndex, 0, "Command-line arguments (without argv[0]); `[N]` picks one."),
    f("proc.aargs", T::Str, A::OptionalIndex, 0, "Arguments of an ancestor process, by ancestor index."),
    f("proc.cmdline", T::Str, A::None, 0, "Process name followed by its arguments."),
    f("proc.pcmdline", T::Str, A::None, 0, "Command line of the parent process."),
    f("proc.acmdline", T::Str, A::OptionalIndex, NO_RHS | NO_TRANSFORMER, "Command line of an ancestor; `[N]` picks the Nth, bare form matches any."),
    f("proc.cmdnargs", T::Unsigned, A::None, 0, "Number of command-line arguments."),
    f("proc.cmdlenargs", T::Unsigned, A::None, 0, "Total length of the command-line arguments, spaces excluded."),
    f("proc.exeline", T::Str, A::None, 0, "argv[0] followed by the arguments."),
    f("proc.env", T::Str, A::OptionalKey, 0, "Process environment; `proc.env[NAME]` yields one variable."),
    f("proc.aenv", T::Str, A::OptionalKey, NO_RHS | NO_TRANSFORMER, "Environment of an ancestor process, by ancestor index or variable name."),
    f("proc.cwd", T::Str, A::None, 0, "Current working directory of the process."),
    f("proc.loginshellid", T::Signed, A::None, 0, "Pid of the outermost shell among the ancestors."),
    f("proc.tty", T::Unsigned, A::None, 0, "Controlling terminal number; 0 when there is none."),
    f("proc.pid", T::Signed, A::None, 0, "Process id."),
    f("proc.ppid", T::Signed, A::None, 0, "Parent process id."),
    f("proc.apid", T::Signed, A::OptionalIndex, NO_RHS | NO_TRANSFORMER, "Pid of an ancestor; `[N]` picks the Nth, bare form matches any."),
    f("proc.vpid", T::Signed, A::None, 0, "Process id as seen inside its pid namespace."),
    f("proc.pvpid", T::Signed, A::None, 0, "Parent process id as seen inside its pid namespace."),
    f("proc.sid", T::Signed, A::None, 0, "Session id of the process."),
    f("proc.sname", T::Str, A::None, 0, "Name of the session leader process."),
    f("proc.sid.exe", T::Str, A::None, 0, "argv[0] of the session leader."),
    f("proc.sid.exepath", T::Str, A::None, 0, "Executable path of the session leader."),
    f("proc.vpgid", T::Signed, A::None, 0, "Process group id as seen inside the pid namespace."),
    f("proc.vpgid.name", T::Str, A::None, 0, "Name of the (namespace-local) process group leader."),
    f("proc.vpgid.exe", T::Str, A::None, 0, "argv[0] of the (namespace-local) process group leader."),
    f("proc.vpgid.exepath", T::Str, A::None, 0, "Executable path of the (namespace-local) process group leader."),
    f("proc.pgid", T::Signed, A::None, 0, "Process group id."),
    f("proc.pgid.name", T::Str, A::None, 0, "Name of the process group leader."),
    f("proc.pgid.exe", T::Str, A::None, 0, "argv[0] of the process group leader."),
    f("proc.pgid.exepath", T::Str, A::None, 0, "Executable path of the process group leader."),
    f("proc.duration", T::RelTime, A::None, 0, "Nanoseconds since the process started."),
    f("proc.ppid.duration", T::RelTime, A::None, 0, "Nanoseconds since the parent process started."),
    f("proc.pid.ts", T::RelTime, A::None, 0, "Start time of the process, in nanoseconds."),
    f("proc.ppid.ts", T::RelTime, A::None, 0, "Start time of the parent process, in nanoseconds."),
    f("proc.is_exe_writable", T::Bool, A::None, 0, "True when the executable is writable by the process's user."),
    f("proc.is_exe_upper_layer", T::Bool, A::None, 0, "True when the executable lives in the writable upper layer of an overlay fs."),
    f("proc.is_exe_lower_layer", T::Bool, A::None, 0, "True when the executable lives in a lower layer of an overlay fs."),
    f("proc.is_exe_from_memfd", T::Bool, A::None, 0, "True when the executable was loaded from a memfd."),
    f("proc.is_sid_leader", T::Bool, A::None, 0, "True when the process leads its session."),
    f("proc.is_vpgid_leader", T::Bool, A::None, 0, "True when the process leads its (namespace-local) process group."),
    f("proc.is_pgid_leader", T::Bool, A::None, 0, "True when the process leads its process group."),
    f("proc.exe_ino", T::Signed, A::None, 0, "Inode number of the executable."),
    f("proc.exe_ino.ctime", T::AbsTime, A::None, 0, "Last status-change time of the executable's inode."),
    f("proc.exe_ino.mtime", T::AbsTime, A::None, 0, "Last modification time of the executable's inode."),
    f("proc.exe_ino.ctime_duration_proc_start", T::AbsTime, A::None, 0, "Time between the executable inode's ctime and process start."),
    f("proc.exe_ino.ctime_duration_pidns_start", T::AbsTime, A::None, 0, "Time between the pid namespace start and the executable inode's ctime."),
    f("proc.pidns_init_start_ts", T::Unsigned, A::None, 0, "Start time of the pid namespace's init process."),
    f("thread.cap_permitted", T::Str, A::None, 0, "Permitted capability set of the thread."),
    f("thread.cap_inheritable", T::Str, A::None, 0, "Inheritable capability set of the thread."),
    f("thread.cap_effective", T::Str, A::None, 0, "Effective capability set of the thread."),
    f("proc.fdopencount", T::Unsigned, A::None, 0, "Number of file descriptors the process holds open."),
    f("proc.fdlimit", T::Signed, A::None, 0, "Maximum number of file descriptors the process may open."),
    f("proc.fdusage", T::Double, A::None, 0, "Open descriptors as a percentage of the limit."),
    f("proc.vmsize", T::Unsigned, A::None, 0, "Total virtual memory of the process, in KiB."),
    f("proc.vmrss", T::Unsigned, A::None, 0, "Resident memory of the process, in KiB."),
    f("proc.vmswap", T::Unsigned, A::None, 0, "Swapped-out memory of the process, in KiB."),
    f("thread.pfmajor", T::Unsigned, A::None, 0, "Major page faults since the thread started."),
    f("thread.pfminor", T::Unsigned, A::None, 0, "Minor page faults since the thread started."),
    f("thread.tid", T::Signed, A::None, 0, "Thread id."),
    f("thread.ismain", T::Bool, A::None, 0, "True for the main thread of a process."),
    f("thread.vtid", T::Signed, A::None, 0, "Thread id as seen inside its pid namespace."),
    f("thread.nametid", T::Str, A::None, 0, "Process name and thread id joined (table use)."),
    f("thread.exectime", T::RelTime, A::None, 0, "CPU time the last scheduled-out thread ran, in nanoseconds."),
    f("thread.totexectime", T::RelTime, A::None, 0, "Total CPU time of the thread so far, in nanoseconds."),
    f("thread.cgroups", T::Str, A::None, 0, "All cgroups of the thread, aggregated into one string."),
    f("thread.cgroup", T::Str, A::DottedOrBracketed, 0, "Cgroup of the thread for one subsystem, e.g. `thread.cgroup.cpuacct`."),
    f("proc.nthreads", T::Unsigned, A::None, 0, "Number of threads of the process (main thread included)."),
    f("proc.nchilds", T::Unsigned, A::None, 0, "Number of child threads of the process (main thread excluded)."),
    f("thread.cpu", T::Double, A::None, 0, "CPU use of the thread."),
    f("thread.cpu.user", T::Double, A::None, 0, "User-mode CPU use of the thread."),
    f("thread.cpu.system", T::Double, A::None, 0, "Kernel-mode CPU use of the thread."),
    f("thread.vmsize", T::Unsigned, A::None, 0, "Virtual memory of the process (for main threads), in KiB."),
    f("thread.vmrss", T::Unsigned, A::None, 0, "Resident memory of the process (for main threads), in KiB."),
    f("thread.vmsize.b", T::Unsigned, A::None, 0, "Virtual memory of the process (for main threads), in bytes."),
    f("thread.vmrss.b", T::Unsigned, A::None, 0, "Resident memory of the process (for main threads), in bytes."),
    f("proc.stdin.type", T::Str, A::None, 0, "Descriptor type of the process's stdin."),
    f("proc.stdout.type", T::Str, A::None, 0, "Descriptor type of the process's stdout."),
    f("proc.stderr.type", T::Str, A::None, 0, "Descriptor type of the process's stderr."),
    f("proc.stdin.name", T::Str, A::None, 0, "Name (path, address, ...) of the process's stdin."),
    f("proc.stdout.name", T::Str, A::None, 0, "Name (path, address, ...) of the process's stdout."),
    f("proc.stderr.name", T::Str, A::None, 0, "Name (path, address, ...) of the process's stderr."),

    // User fields.
    f("user.uid", T::Unsigned, A::None, 0, "User id of the thread."),
    f("user.name", T::Str, A::None, 0, "User name of the thread."),
    f("user.homedir", T::Str, A::None, 0, "Home directory of the user."),
    f("user.shell", T::Str, A::None, 0, "Login shell of the user."),
    f("user.loginuid", T::Signed, A::None, 0, "Audit login uid; -1 when unset."),
    f("user.loginname", T::Str, A::None, 0, "Name of the audit login user."),

    // Group fields.
    f("group.gid", T::Unsigned, A::None, 0, "Group id of the thread."),
    f("group.name", T::Str, A::None, 0, "Group name of the thread."),

    // File descriptor fields.
    f("fd.num", T::Signed, A::None, 0, "File descriptor number."),
    f("fd.type", T::Str, A::None, 0, "Descriptor type: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, ..."),
    f("fd.typechar", T::Str, A::None, 0, "Descriptor type as one letter (f, 4, 6, u, p, ...)."),
    f("fd.name", T::Str, A::None, 0, "Full descriptor name: a path for files, a tuple for sockets."),
    f("fd.directory", T::Str, A::None, 0, "Directory part of a file descriptor's path."),
    f("fd.filename", T::Str, A::None, 0, "File name part of a file descriptor's path."),
    f("fd.ip", T::IpAddr, A::None, FILTER_ONLY | NO_RHS | NO_TRANSFORMER, "Either endpoint IP of a socket (client or server). Filter only."),
    f("fd.cip", T::IpAddr, A::None, 0, "Client IP address of a socket."),
    f("fd.sip", T::IpAddr, A::None, 0, "Server IP address of a socket."),
    f("fd.lip", T::IpAddr, A::None, 0, "Local IP address of a socket."),
    f("fd.rip", T::IpAddr, A::None, 0, "Remote IP address of a socket."),
    f("fd.port", T::Unsigned, A::None, FILTER_ONLY | NO_RHS | NO_TRANSFORMER, "Either endpoint port of a socket (client or server). Filter only."),
    f("fd.cport", T::Unsigned, A::None, 0, "Client port of a socket."),
    f("fd.sport", T::Unsigned, A::None, 0, "Server port of a socket."),
    f("fd.lport", T::Unsigned, A::None, 0, "Local port of a socket."),
    f("fd.rport", T::Unsigned, A::None, 0, "Remote port of a socket."),
    f("fd.l4proto", T::Str, A::None, 0, "Transport protocol of a socket: tcp, udp, icmp or raw."),
    f("fd.sockfamily", T::Str, A::None, 0, "Socket family: ip for IPv4/IPv6, unix for unix sockets."),
    f("fd.is_server", T::Bool, A::None, 0, "True when the process owning the descriptor is the server side."),
    f("fd.uid", T::Str, A::None, 0, "Unique descriptor id (thread id plus fd number)."),
    f("fd.containername", T::Str, A::None, 0, "Container id joined with the descriptor name."),
    f("fd.containerdirectory", T::Str, A::None, 0, "Container id joined with the descriptor's directory."),
    f("fd.proto", T::Unsigned, A::None, FILTER_ONLY | NO_RHS | NO_TRANSFORMER, "Either endpoint's protocol (client or server). Filter only."),
    f("fd.cproto", T::Str, A::None, 0, "Client-side protocol name of a socket."),
    f("fd.sproto", T::Str, A::None, 0, "Server-side protocol name of a socket."),
    f("fd.lproto", T::Str, A::None, 0, "Local protocol name of a socket."),
    f("fd.rproto", T::Str, A::None, 0, "Remote protocol name of a socket."),
    f("fd.net", T::IpNet, A::None, FILTER_ONLY | NO_RHS | NO_TRANSFORMER, "Either endpoint IP, for network (CIDR) matching. Filter only."),
    f("fd.cnet", T::IpNet, A::None, FILTER_ONLY | NO_RHS | NO_TRANSFORMER, "Client IP, for network (CIDR) matching. Filter only."),
    f("fd.snet", T::IpNet, A::None, FILTER_ONLY | NO_RHS | NO_TRANSFORMER, "Server IP, for network (CIDR) matching. Filter only."),
    f("fd.lnet", T::IpNet, A::None, FILTER_ONLY | NO_RHS | NO_TRANSFORMER, "Local IP, for network (CIDR) matching. Filter only."),
    f("fd.rnet", T::IpNet, A::None, FILTER_ONLY | NO_RHS | NO_TRANSFORMER, "Remote IP, for network (CIDR) matching. Filter only."),
    f("fd.connected", T::Bool, A::None, 0, "True when the socket is connected."),
    f("fd.name_changed", T::Bool, A::None, 0, "True when this event changed the descriptor's name (e.g. connect)."),
    f("fd.cip.name", T::Str, A::None, NO_RHS | NO_TRANSFORMER, "Domain name associated with the client IP."),
    f("fd.sip.name", T::Str, A::None, NO_RHS | NO_TRANSFORMER, "Domain name associated with the server IP."),
    f("fd.lip.name", T::Str, A::None, NO_RHS | NO_TRANSFORMER, "Domain name associated with the local IP."),
    f("fd.rip.name", T::Str, A::None, NO_RHS | NO_TRANSFORMER, "Domain name associated with the remote IP."),
    f("fd.dev", T::Signed, A::None, 0, "Device number of the file's filesystem."),
    f("fd.dev.major", T::Signed, A::None, 0, "Major device number of the file's filesystem."),
    f("fd.dev.minor", T::Signed, A::None, 0, "Minor device number of the file's filesystem."),
    f("fd.ino", T::Signed, A::None, 0, "Inode number of the file."),
    f("fd.nameraw", T::Str, A::None, 0, "Descriptor name exactly as passed by the process, unresolved."),
    f("fd.types", T::Str, A::OptionalIndex, IS_LIST | NO_RHS, "Types of all descriptors of the process; `fd.types[N]` for one descriptor."),
    f("fd.is_upper_layer", T::Bool, A::None, 0, "True when the file lives in the writable upper layer of an overlay fs."),
    f("fd.is_lower_layer", T::Bool, A::None, 0, "True when the file lives in a lower layer of an overlay fs."),

    // Descriptor lists of poll-style events.
    f("fdlist.nums", T::Str, A::None, 0, "For poll-style events, the descriptor numbers involved."),
    f("fdlist.names", T::Str, A::None, 0, "For poll-style events, the descriptor names involved."),
    f("fdlist.cips", T::Str, A::None, 0, "For poll-style events, the client IPs involved."),
    f("fdlist.sips", T::Str, A::None, 0, "For poll-style events, the server IPs involved."),
    f("fdlist.cports", T::Str, A::None, 0, "For poll-style events, the client ports involved."),
    f("fdlist.sports", T::Str, A::None, 0, "For poll-style events, the server ports involved."),

    // Paths of filesystem syscalls.
    f("fs.path.name", T::Str, A::None, 0, "Path touched by a filesystem syscall, made absolute."),
    f("fs.path.nameraw", T::Str, A::None, 0, "Path touched by a filesystem syscall, as given."),
    f("fs.path.source", T::Str, A::None, 0, "Source path of a two-path syscall (link, rename, ...), made absolute."),
    f("fs.path.sourceraw", T::Str, A::None, 0, "Source path of a two-path syscall, as given."),
    f("fs.path.target", T::Str, A::None, 0, "Target path of a two-path syscall, made absolute."),
    f("fs.path.targetraw", T::Str, A::None, 0, "Target path of a two-path syscall, as given."),

    // Container plugin: `container.*`, `proc.is_container_*`, `k8s.*`.
    f("container.id", T::Str, A::None, 0, "Short (12 character) container id, or `host` outside containers."),
    f("container.full_id", T::Str, A::None, 0, "Full container id from the container runtime."),
    f("container.name", T::Str, A::None, 0, "Container name, or `host` outside containers."),
    f("container.image", T::Str, A::None, 0, "Container image reference (name and tag)."),
    f("container.image.id", T::Str, A::None, 0, "Container image id."),
    f("container.type", T::Str, A::None, 0, "Container runtime type (docker, cri-o, containerd, ...)."),
    f("container.privileged", T::Bool, A::None, 0, "True for privileged containers."),
    f("container.mounts", T::Str, A::None, 0, "All mounts, space separated, each as source:dest:mode:rdrw:propagation."),
    f("container.mount", T::Str, A::RequiredKey, 0, "One mount, chosen by index or by source path (glob allowed)."),
    f("container.mount.source", T::Str, A::RequiredKey, 0, "Mount source, chosen by index or by destination path (glob allowed)."),
    f("container.mount.dest", T::Str, A::RequiredKey, 0, "Mount destination, chosen by index or by source path (glob allowed)."),
    f("container.mount.mode", T::Str, A::RequiredKey, 0, "Mount mode, chosen by index or by source path."),
    f("container.mount.rdwr", T::Str, A::RequiredKey, 0, "Mount read/write flag, chosen by index or by source path."),
    f("container.mount.propagation", T::Str, A::RequiredKey, 0, "Mount propagation, chosen by index or by source path."),
    f("container.image.repository", T::Str, A::None, 0, "Repository part of the container image (e.g. `falcosecurity/falco`)."),
    f("container.image.tag", T::Str, A::None, 0, "Tag part of the container image."),
    f("container.image.digest", T::Str, A::None, 0, "Registry digest of the container image."),
    f("container.healthcheck", T::Str, A::None, 0, "Deprecated health-check command of the container."),
    f("container.liveness_probe", T::Str, A::None, 0, "Deprecated liveness-probe command of the container."),
    f("container.readiness_probe", T::Str, A::None, 0, "Deprecated readiness-probe command of the container."),
    f("container.start_ts", T::AbsTime, A::None, 0, "Container start time, in nanoseconds since the epoch."),
    f("container.duration", T::RelTime, A::None, 0, "Nanoseconds since the container started."),
    f("container.ip", T::Str, A::None, 0, "Primary IP address of the container or pod (text)."),
    f("container.cni.json", T::Str, A::None, 0, "CNI result of the container's pod, as JSON text."),
    f("container.host_pid", T::Bool, A::None, 0, "True when the container shares the host pid namespace."),
    f("container.host_network", T::Bool, A::None, 0, "True when the container shares the host network namespace."),
    f("container.host_ipc", T::Bool, A::None, 0, "True when the container shares the host IPC namespace."),
    f("container.label", T::Str, A::DottedOrBracketed, 0, "One container label, by key (`container.label.KEY` or `[KEY]`)."),
    f("container.labels", T::Str, A::None, 0, "All container labels as comma-separated key:value pairs."),
    f("proc.is_container_healthcheck", T::Bool, A::None, 0, "Deprecated: true when the process is a container health check."),
    f("proc.is_container_liveness_probe", T::Bool, A::None, 0, "Deprecated: true when the process is a liveness probe."),
    f("proc.is_container_readiness_probe", T::Bool, A::None, 0, "Deprecated: true when the process is a readiness probe."),
    f("k8s.pod.name", T::Str, A::None, 0, "Kubernetes pod name of the container."),
    f("k8s.ns.name", T::Str, A::None, 0, "Kubernetes namespace of the container's pod."),
    f("k8s.pod.id", T::Str, A::None, 0, "Legacy alias of `k8s.pod.uid`."),
    f("k8s.pod.uid", T::Str, A::None, 0, "Kubernetes pod UID."),
    f("k8s.pod.sandbox_id", T::Str, A::None, 0, "Short (12 character) pod sandbox id."),
    f("k8s.pod.full_sandbox_id", T::Str, A::None, 0, "Full pod sandbox id."),
    f("k8s.pod.label", T::Str, A::DottedOrBracketed, 0, "One pod label, by key (`k8s.pod.label.KEY` or `[KEY]`)."),
    f("k8s.pod.labels", T::Str, A::None, 0, "All pod labels as comma-separated key:value pairs."),
    f("k8s.pod.ip", T::Str, A::None, 0, "Pod IP address (text)."),
    f("k8s.pod.cni.json", T::Str, A::None, 0, "CNI result of the pod, as JSON text."),
    f("k8s.rc.name", T::Str, A::None, 0, "Deprecated (use k8smeta): Kubernetes replication controller name."),
    f("k8s.rc.id", T::Str, A::None, 0, "Deprecated (use k8smeta): Kubernetes replication controller id."),
    f("k8s.rc.label", T::Str, A::DottedOrBracketed, 0, "Deprecated (use k8smeta): one Kubernetes replication controller label, by key."),
    f("k8s.rc.labels", T::Str, A::None, 0, "Deprecated (use k8smeta): all Kubernetes replication controller labels."),
    f("k8s.svc.name", T::Str, A::None, 0, "Deprecated (use k8smeta): Kubernetes service name."),
    f("k8s.svc.id", T::Str, A::None, 0, "Deprecated (use k8smeta): Kubernetes service id."),
    f("k8s.svc.label", T::Str, A::DottedOrBracketed, 0, "Deprecated (use k8smeta): one Kubernetes service label, by key."),
    f("k8s.svc.labels", T::Str, A::None, 0, "Deprecated (use k8smeta): all Kubernetes service labels."),
    f("k8s.ns.id", T::Str, A::None, 0, "Deprecated (use k8smeta): Kubernetes namespace id."),
    f("k8s.ns.label", T::Str, A::DottedOrBracketed, 0, "Deprecated (use k8smeta): one Kubernetes namespace label, by key."),
    f("k8s.ns.labels", T::Str, A::None, 0, "Deprecated (use k8smeta): all Kubernetes namespace labels."),
    f("k8s.rs.name", T::Str, A::None, 0, "Deprecated (use k8smeta): Kubernetes replica set name."),
    f("k8s.rs.id", T::Str, A::None, 0, "Deprecated (use k8smeta): Kubernetes replica set id."),
    f("k8s.rs.label", T::Str, A::DottedOrBracketed, 0, "Deprecated (use k8smeta): one Kubernetes replica set label, by key."),
    f("k8s.rs.labels", T::Str, A::None, 0, "Deprecated (use k8smeta): all Kubernetes replica set labels."),
    f("k8s.deployment.name", T::Str, A::None, 0, "Deprecated (use k8smeta): Kubernetes deployment name."),
    f("k8s.deployment.id", T::Str, A::None, 0, "Deprecated (use k8smeta): Kubernetes deployment id."),
    f("k8s.deployment.label", T::Str, A::DottedOrBracketed, 0, "Deprecated (use k8smeta): one Kubernetes deployment label, by key."),
    f("k8s.deployment.labels", T::Str, A::None, 0, "Deprecated (use k8smeta): all Kubernetes deployment labels."),
];

#[cfg(test)]
mod tests {
    use super::super::{flags, ArgKind, FieldType, Source};

    /// The `syscall`-source part of the 126 base fields the upstream rules use
    /// (conformance analysis §7).
    const RULE_FIELDS: &[&str] = &[
        // container
        "container.id",
        "container.image.repository",
        "container.mount.dest",
        "container.mounts",
        "container.privileged",
        "container.start_ts",
        // evt
        "evt.arg.cmd",
        "evt.arg.domain",
        "evt.arg.fd",
        "evt.arg.filename",
        "evt.arg.flags",
        "evt.arg.linkpath",
        "evt.arg.mode",
        "evt.arg.name",
        "evt.arg.newpath",
        "evt.arg.oldpath",
        "evt.arg.path",
        "evt.arg.request",
        "evt.arg.target",
        "evt.arg.uid",
        "evt.args",
        "evt.buffer",
        "evt.is_open_exec",
        "evt.is_open_read",
        "evt.is_open_write",
        "evt.num",
        "evt.rawres",
        "evt.res",
        "evt.type",
        // fd
        "fd.cip",
        "fd.cip.name",
        "fd.cnet",
        "fd.connected",
        "fd.directory",
        "fd.filename",
        "fd.ip",
        "fd.l4proto",
        "fd.lip.name",
        "fd.lport",
        "fd.name",
        "fd.name_changed",
        "fd.nameraw",
        "fd.net",
        "fd.num",
        "fd.port",
        "fd.rip",
        "fd.rip.name",
        "fd.rnet",
        "fd.rport",
        "fd.sip",
        "fd.sip.name",
        "fd.snet",
        "fd.sockfamily",
        "fd.sport",
        "fd.type",
        "fd.typechar",
        // group
        "group.gid",
        "group.name",
        // k8s
        "k8s.ns.name",
        "k8s.pod.name",
        // proc
        "proc.aexe",
        "proc.aexepath",
        "proc.aname",
        "proc.args",
        "proc.cmdline",
        "proc.cwd",
        "proc.duration",
        "proc.env",
        "proc.exe",
        "proc.exe_ino.ctime",
        "proc.exe_ino.ctime_duration_proc_start",
        "proc.exe_ino.mtime",
        "proc.exepath",
        "proc.is_exe_from_memfd",
        "proc.is_exe_upper_layer",
        "proc.is_vpgid_leader",
        "proc.name",
        "proc.pcmdline",
        "proc.pexe",
        "proc.pexepath",
        "proc.pname",
        "proc.sname",
        "proc.tty",
        "proc.vpid",
        // thread
        "thread.cap_effective",
        "thread.cap_permitted",
        // user
        "user.loginname",
        "user.loginuid",
        "user.name",
        "user.uid",
    ];

    /// Real libsinsp fields named by the compile/eval-level grammar vectors.
    const GRAMMAR_FIELDS: &[&str] = &[
        "evt.arg",
        "evt.arg.data",
        "evt.arg.flags",
        "evt.arg.reaper_tid",
        "evt.arg.res",
        "evt.arg.ret",
        "evt.args",
        "evt.around",
        "evt.buffer",
        "evt.buflen.in",
        "evt.count",
        "evt.cpu",
        "evt.is_io",
        "evt.is_wait",
        "evt.num",
        "evt.plugininfo",
        "evt.rawarg.res",
        "evt.rawres",
        "evt.rawtime",
        "evt.source",
        "evt.type",
        "fd.cip",
        "fd.dev",
        "fd.directory",
        "fd.ip",
        "fd.lip",
        "fd.name",
        "fd.net",
        "fd.num",
        "fd.port",
        "fd.rip",
        "fd.sip",
        "fd.types",
        "proc.name",
        "proc.pid",
        "proc.pid.ts",
        "syscall.type",
        "thread.cpu",
    ];

    #[test]
    fn rule_fields_resolve() {
        assert_eq!(RULE_FIELDS.len(), 90);
        for name in RULE_FIELDS.iter().chain(GRAMMAR_FIELDS) {
            assert!(
                Source::Syscall.lookup(name).is_some(),
                "{name} missing from syscall"
            );
            assert!(
                Source::K8sAudit.lookup(name).is_none() || name.starts_with("evt."),
                "{name}"
            );
        }
    }

    fn def(name: &str) -> &'static super::FieldDef {
        match Source::Syscall.lookup(name) {
            Some((_, d, _)) => d,
            None => panic!("{name} not registered"),
        }
    }

    #[test]
    fn dotted_families() {
        for (name, family, key) in [
            ("evt.arg.cmd", "evt.arg", "cmd"),
            ("evt.rawarg.res", "evt.rawarg", "res"),
            ("evt.type.is.open", "evt.type.is", "open"),
            ("thread.cgroup.cpuacct", "thread.cgroup", "cpuacct"),
            (
                "k8s.pod.label.app.kubernetes.io/name",
                "k8s.pod.label",
                "app.kubernetes.io/name",
            ),
            ("container.label.foo", "container.label", "foo"),
        ] {
            let (_, d, k) = Source::Syscall.lookup(name).expect("family resolves");
            assert_eq!((d.name, k), (family, Some(key)), "{name}");
        }
        // Exact names win over dotted families.
        for name in [
            "evt.args",
            "thread.cgroups",
            "k8s.pod.labels",
            "evt.abspath.src",
        ] {
            let (_, d, k) = Source::Syscall.lookup(name).expect("exact name");
            assert_eq!((d.name, k), (name, None));
        }
    }

    #[test]
    fn type_spot_checks() {
        for (name, ty) in [
            ("evt.rawtime", FieldType::AbsTime),
            ("evt.is_io", FieldType::Bool),
            ("evt.cpu", FieldType::Signed),
            ("evt.count", FieldType::Unsigned),
            ("evt.buflen.in", FieldType::Unsigned),
            ("evt.buffer", FieldType::Bytes),
            ("evt.arg", FieldType::Str),
            ("evt.rawres", FieldType::Signed),
            ("thread.cpu", FieldType::Double),
            ("fd.net", FieldType::IpNet),
            ("fd.sip", FieldType::IpAddr),
            ("fd.ip", FieldType::IpAddr),
            ("fd.port", FieldType::Unsigned),
            ("fd.sport", FieldType::Unsigned),
            ("fd.dev", FieldType::Signed),
            ("fd.num", FieldType::Signed),
            ("proc.pid", FieldType::Signed),
            ("proc.pid.ts", FieldType::RelTime),
            ("proc.duration", FieldType::RelTime),
            ("proc.tty", FieldType::Unsigned),
            ("proc.exe_ino.ctime", FieldType::AbsTime),
            ("user.uid", FieldType::Unsigned),
            ("user.loginuid", FieldType::Signed),
            ("container.privileged", FieldType::Bool),
            ("container.start_ts", FieldType::AbsTime),
            ("thread.cap_permitted", FieldType::Str),
        ] {
            assert_eq!(def(name).ty, ty, "{name}");
        }
    }

    #[test]
    fn arguments_and_flags() {
        assert!(def("fd.types").is_list());
        assert_eq!(def("fd.types").arg, ArgKind::OptionalIndex);
        assert_eq!(def("proc.aname").arg, ArgKind::OptionalIndex);
        assert_eq!(def("proc.aexepath").arg, ArgKind::OptionalIndex);
        assert_eq!(def("proc.env").arg, ArgKind::OptionalKey);
        assert_eq!(def("evt.around").arg, ArgKind::RequiredIndex);
        assert_ne!(def("evt.around").flags & flags::FILTER_ONLY, 0);
        assert_ne!(def("evt.around").flags & flags::NO_RHS, 0);
        assert_eq!(def("evt.arg").arg, ArgKind::DottedOrBracketed);
        assert_eq!(def("evt.rawarg").arg, ArgKind::DottedOrBracketed);
        assert_ne!(def("evt.rawarg").flags & flags::NO_TRANSFORMER, 0);
        assert_eq!(def("container.mount.dest").arg, ArgKind::RequiredKey);
        assert_eq!(def("k8s.pod.label").arg, ArgKind::DottedOrBracketed);
        assert!(def("evt.dir").is_deprecated());
        assert!(!def("evt.type").is_deprecated());
        assert_ne!(def("evt.outputtime").flags & flags::PRINT_ONLY, 0);
        assert_ne!(def("fd.net").flags & flags::FILTER_ONLY, 0);
        assert_eq!(def("proc.name").arg, ArgKind::None);
    }
}
