//! Real Landlock, real programs: palisade-init confines busybox applets copied into a scratch tree.
//!
//! Each applet is a separate copy of `/bin/busybox` (its own inode) so execute rules can tell
//! them apart. Every run happens as in a container: in a private mount namespace, chrooted into a
//! root that shows the host's top-level directories (so the scratch tree keeps its absolute paths)
//! plus `/.palisade/init` and, as the runc wrapper mounts it, `/.palisade/policy.json` bind-mounted
//! read-only; some tests put something else there to see it refused. Needs root, util-linux's
//! `unshare` and a kernel with Landlock; without them the tests fail unless
//! `PALISADE_ALLOW_SKIP_PRIVILEGED=1`.
#![expect(clippy::unwrap_used, reason = "test helpers panic at the failing call")]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INIT: &str = env!("CARGO_BIN_EXE_palisade-init");
/// palisade-init as the container sees it.
const INIT_IN: &str = "/.palisade/init";
const BUSYBOX: &str = "/bin/busybox";
const APPLETS: &[&str] = &[
    "sh", "touch", "cat", "echo", "rm", "mv", "truncate", "cp", "env", "mkdir", "ln", "mknod",
    "printf",
];

/// How the test's policy file appears at `/.palisade/policy.json`.
#[derive(Clone, Copy)]
enum At {
    /// Bind-mounted read-only, as palisade-runc does.
    ReadOnlyBind,
    /// Copied onto the (writable) container root.
    WritableCopy,
    /// A symbolic link to the host file.
    Symlink,
    /// Nothing there.
    Absent,
}

/// Sets up the container's mounts, then `exec chroot ROOT ARGV...` with the caller's environment
/// (less the `PWD` dash adds). `$1` root, `$2` palisade-init, `$3` policy, `$4` how.
const SETUP: &str = r#"set -e
T="$1"; INIT="$2"; POLICY="$3"; HOW="$4"; shift 4
/usr/bin/mount -t tmpfs -o mode=0755 palisade-test "$T"
for d in /*; do
  n="${d#/}"
  if [ -L "$d" ]; then /usr/bin/ln -s "$(/usr/bin/readlink "$d")" "$T/$n"
  elif [ -d "$d" ] && [ "$n" != lost+found ]; then /usr/bin/mkdir "$T/$n"; /usr/bin/mount --rbind "$d" "$T/$n"
  fi
done
/usr/bin/mkdir "$T/.palisade"
/usr/bin/touch "$T/.palisade/init"
/usr/bin/mount --bind "$INIT" "$T/.palisade/init"
case "$HOW" in
  ro) /usr/bin/touch "$T/.palisade/policy.json"
      /usr/bin/mount --bind "$POLICY" "$T/.palisade/policy.json"
      /usr/bin/mount -o remount,bind,ro "$T/.palisade/policy.json" ;;
  copy) /usr/bin/cp -p "$POLICY" "$T/.palisade/policy.json" ;;
  symlink) /usr/bin/ln -s "$POLICY" "$T/.palisade/policy.json" ;;
esac
[ -z "$PALISADE_TEST_NO_PWD" ] || unset PWD
unset PALISADE_TEST_NO_PWD
exec /usr/sbin/chroot "$T" "$@"
"#;

/// Runs `argv` in a fresh "container" whose policy is `policy`, placed as `at`; `env`: the exact
/// environment (else the test's).
fn in_container<'a>(
    policy: &Path,
    at: At,
    argv: impl IntoIterator<Item = &'a OsStr>,
    env: Option<&[(&OsStr, &OsStr)]>,
) -> Output {
    let root = tempfile::tempdir().unwrap();
    let how = match at {
        At::ReadOnlyBind => "ro",
        At::WritableCopy => "copy",
        At::Symlink => "symlink",
        At::Absent => "none",
    };
    let mut cmd = Command::new("/usr/bin/unshare");
    cmd.args(["--mount", "--propagation", "private", "/bin/sh", "-c", SETUP, "setup"])
        .arg(root.path())
        .arg(INIT)
        .arg(policy)
        .arg(how)
        .args(argv);
    if let Some(vars) = env {
        cmd.env_clear().env("PALISADE_TEST_NO_PWD", "1");
        for (k, v) in vars {
            cmd.env(k, v);
        }
    }
    cmd.output().unwrap()
}

/// `/.palisade/init -- PROGRAM ARGS...` in a container whose policy is `policy`.
fn run_init<'a>(
    policy: &Path,
    program: &'a OsStr,
    args: impl IntoIterator<Item = &'a OsStr>,
) -> Output {
    let argv = [OsStr::new(INIT_IN), OsStr::new("--"), program];
    in_container(policy, At::ReadOnlyBind, argv.into_iter().chain(args), None)
}

/// Returns false (after saying why) when the tests cannot run here and skipping is allowed.
fn privileged() -> bool {
    let why = if !fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
    {
        Some("not running as root".to_owned())
    } else if !Path::new(BUSYBOX).exists() {
        Some(format!("{BUSYBOX} (busybox-static) is not installed"))
    } else if !Path::new("/usr/bin/unshare").exists() {
        Some("/usr/bin/unshare (util-linux) is not installed".to_owned())
    } else {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("probe.json");
        fs::write(&policy, format!(r#"{{"version":2,"execute":["{BUSYBOX}"]}}"#)).unwrap();
        let out = run_init(&policy, OsStr::new(BUSYBOX), [OsStr::new("true")]);
        (!out.status.success()).then(|| {
            format!(
                "no working Landlock or mount namespace: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })
    };
    match why {
        None => true,
        Some(why) if std::env::var("PALISADE_ALLOW_SKIP_PRIVILEGED").as_deref() == Ok("1") => {
            println!("SKIPPED (PALISADE_ALLOW_SKIP_PRIVILEGED=1): {why}");
            false
        }
        Some(why) => panic!("{why} (set PALISADE_ALLOW_SKIP_PRIVILEGED=1 to skip)"),
    }
}

/// `root/{bin/<applets>, bin/sub/, tmp/, data/victim}`; only `tmp` is writable in [`Scratch::policy`].
struct Scratch {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        for d in ["bin/sub", "tmp", "data"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        for applet in APPLETS {
            fs::copy(BUSYBOX, root.join("bin").join(applet)).unwrap();
        }
        fs::write(root.join("data/victim"), "keep\n").unwrap();
        Scratch { _dir: dir, root }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes a policy (`{ROOT}` stands for the scratch root) and returns its path.
    fn write_policy(&self, name: &str, json: &str) -> PathBuf {
        let path = self.root.join(name);
        fs::write(
            &path,
            json.replace("{ROOT}", &self.root.display().to_string()),
        )
        .unwrap();
        path
    }

    /// tmp writable; bin executable except sh.
    fn policy(&self) -> PathBuf {
        self.write_policy(
            "policy.json",
            r#"{"version":2,"write_beneath":["{ROOT}/tmp"],
               "execute":["{ROOT}/bin"],"deny_execute":["{ROOT}/bin/sh"]}"#,
        )
    }

    /// tmp writable; bin executable including sh.
    fn policy_with_shell(&self) -> PathBuf {
        self.write_policy(
            "policy-sh.json",
            r#"{"version":2,"write_beneath":["{ROOT}/tmp"],"execute":["{ROOT}/bin"]}"#,
        )
    }

    /// Runs `/.palisade/init -- bin/<applet> ARGS...` with POLICY mounted.
    fn run(&self, policy: &Path, applet: &str, args: &[&str]) -> Output {
        run_init(
            policy,
            self.path(&format!("bin/{applet}")).as_os_str(),
            args.iter().map(OsStr::new),
        )
    }

    fn victim_intact(&self) {
        assert_eq!(
            fs::read_to_string(self.path("data/victim")).unwrap(),
            "keep\n"
        );
    }
}

/// Asserts the exact exit status, stdout and stderr.
#[track_caller]
fn expect(out: &Output, code: i32, stdout: &str, stderr: &str) {
    let got = (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(got, (Some(code), stdout.into(), stderr.into()));
}

#[test]
fn writes_only_beneath_write_beneath() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    let policy = s.policy();
    let outside = s.path("data/new");
    let out = s.run(&policy, "touch", &[outside.to_str().unwrap()]);
    expect(
        &out,
        1,
        "",
        &format!("touch: {}: Permission denied\n", outside.display()),
    );
    assert!(!outside.exists(), "the file was created");

    let inside = s.path("tmp/new");
    expect(
        &s.run(&policy, "touch", &[inside.to_str().unwrap()]),
        0,
        "",
        "",
    );
    assert!(inside.exists());
    // and the usual operations inside work
    let (a, b, d) = (s.path("tmp/new"), s.path("tmp/renamed"), s.path("tmp/dir"));
    expect(
        &s.run(&policy, "mv", &[a.to_str().unwrap(), b.to_str().unwrap()]),
        0,
        "",
        "",
    );
    expect(&s.run(&policy, "mkdir", &[d.to_str().unwrap()]), 0, "", "");
    expect(&s.run(&policy, "rm", &[b.to_str().unwrap()]), 0, "", "");
    assert!(!b.exists() && d.is_dir());
}

#[test]
fn truncate_remove_rename_link_mkdir_outside_fail() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    let policy = s.policy_with_shell();
    let victim = s.path("data/victim");
    let v = victim.to_str().unwrap();
    let tmp = |name: &str| s.path(&format!("tmp/{name}")).display().to_string();
    let data = |name: &str| s.path(&format!("data/{name}")).display().to_string();

    let out = s.run(&policy, "truncate", &["-s", "0", v]);
    expect(
        &out,
        1,
        "",
        &format!("truncate: {v}: open: Permission denied\n"),
    );
    let out = s.run(&policy, "sh", &["-c", &format!("echo x > {v}")]);
    expect(
        &out,
        1,
        "",
        &format!(
            "{}: can't create {v}: Permission denied\n",
            s.path("bin/sh").display()
        ),
    );
    let out = s.run(&policy, "sh", &["-c", &format!("echo x >> {v}")]);
    expect(
        &out,
        1,
        "",
        &format!(
            "{}: can't create {v}: Permission denied\n",
            s.path("bin/sh").display()
        ),
    );
    expect(
        &s.run(&policy, "rm", &["-f", v]),
        1,
        "",
        &format!("rm: can't remove '{v}': Permission denied\n"),
    );
    let out = s.run(&policy, "mv", &[v, &tmp("stolen")]);
    expect(
        &out,
        1,
        "",
        &format!("mv: can't rename '{v}': Permission denied\n"),
    );
    // linking across directories needs the Refer right on both sides: Landlock says EXDEV
    let out = s.run(&policy, "ln", &[v, &tmp("hardlink")]);
    expect(
        &out,
        1,
        "",
        &format!("ln: {}: Invalid cross-device link\n", tmp("hardlink")),
    );
    let out = s.run(&policy, "ln", &["-s", "victim", &data("symlink")]);
    expect(
        &out,
        1,
        "",
        &format!("ln: {}: Permission denied\n", data("symlink")),
    );
    expect(
        &s.run(&policy, "mkdir", &[&data("dir")]),
        1,
        "",
        &format!(
            "mkdir: can't create directory '{}': Permission denied\n",
            data("dir")
        ),
    );
    // creating a device node is a write too (root could otherwise)
    let out = s.run(&policy, "mknod", &[&data("null"), "c", "1", "3"]);
    expect(
        &out,
        1,
        "",
        &format!("mknod: {}: Permission denied\n", data("null")),
    );
    expect(
        &s.run(&policy, "mknod", &[&tmp("null"), "c", "1", "3"]),
        0,
        "",
        "",
    );

    // moving a file out of the writable directory fails too
    fs::write(s.path("tmp/mine"), "").unwrap();
    let out = s.run(&policy, "mv", &[&tmp("mine"), &data("mine")]);
    expect(
        &out,
        1,
        "",
        &format!("mv: can't rename '{}': Permission denied\n", tmp("mine")),
    );

    s.victim_intact();
    let names = |dir: &str| {
        let mut names: Vec<_> = fs::read_dir(s.path(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("data"), [OsString::from("victim")]);
    assert_eq!(
        names("tmp"),
        [OsString::from("mine"), OsString::from("null")]
    );
}

#[test]
fn denied_and_unlisted_files_do_not_execute() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    // a pre-existing hard link of the denied shell inside an execute directory is denied too,
    // listed by the daemon (which finds links in the image) beside the shell
    fs::hard_link(s.path("bin/sh"), s.path("bin/sub/ash")).unwrap();
    let policy = s.write_policy(
        "links.json",
        r#"{"version":2,"write_beneath":["{ROOT}/tmp"],
           "execute":["{ROOT}/bin"],"deny_execute":["{ROOT}/bin/sh","{ROOT}/bin/sub/ash"]}"#,
    );
    let sh = s.path("bin/sh");
    let out = s.run(&policy, "sh", &["-c", "echo hi"]);
    expect(
        &out,
        126,
        "",
        &format!(
            "palisade-init: cannot execute {}: Permission denied (os error 13)\n",
            sh.display()
        ),
    );
    let ash = s.path("bin/sub/ash");
    let out = s.run(&policy, "env", &[ash.to_str().unwrap(), "-c", "echo hi"]);
    expect(
        &out,
        126,
        "",
        &format!(
            "env: can't execute '{}': Permission denied\n",
            ash.display()
        ),
    );
    // allowed ones run, also when started by an allowed program
    expect(&s.run(&policy, "echo", &["hello"]), 0, "hello\n", "");
    let echo = s.path("bin/echo");
    expect(
        &s.run(&policy, "env", &[echo.to_str().unwrap(), "via env"]),
        0,
        "via env\n",
        "",
    );
    // a program outside every execute entry
    let out = run_init(&policy, OsStr::new(BUSYBOX), [OsStr::new("true")]);
    expect(
        &out,
        126,
        "",
        "palisade-init: cannot execute /bin/busybox: Permission denied (os error 13)\n",
    );
    // a program that does not exist
    let out = s.run(&policy, "nope", &[]);
    expect(
        &out,
        127,
        "",
        &format!(
            "palisade-init: cannot execute {}: No such file or directory (os error 2)\n",
            s.path("bin/nope").display()
        ),
    );
}

#[test]
fn a_copy_into_a_writable_directory_does_not_execute() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    let policy = s.policy();
    let (echo, copy, shell) = (
        s.path("bin/echo"),
        s.path("tmp/echo"),
        s.path("tmp/not-a-shell"),
    );
    expect(
        &s.run(
            &policy,
            "cp",
            &[echo.to_str().unwrap(), copy.to_str().unwrap()],
        ),
        0,
        "",
        "",
    );
    // reading the denied shell is allowed (reads are not restricted), so it can be copied ...
    expect(
        &s.run(
            &policy,
            "cp",
            &[s.path("bin/sh").to_str().unwrap(), shell.to_str().unwrap()],
        ),
        0,
        "",
        "",
    );
    assert!(copy.exists() && shell.exists());
    // ... but no copy runs: it is a new inode beneath a directory without execute
    for file in [&copy, &shell] {
        let out = s.run(&policy, "env", &[file.to_str().unwrap(), "hi"]);
        expect(
            &out,
            126,
            "",
            &format!(
                "env: can't execute '{}': Permission denied\n",
                file.display()
            ),
        );
        let out = run_init(&policy, file.as_os_str(), []);
        expect(
            &out,
            126,
            "",
            &format!(
                "palisade-init: cannot execute {}: Permission denied (os error 13)\n",
                file.display()
            ),
        );
    }
}

#[test]
fn children_inherit_the_ruleset() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    let policy = s.policy_with_shell();
    let (sh, touch) = (s.path("bin/sh"), s.path("bin/touch"));
    // The shell forks a child, which runs another shell, which forks touch.
    let script = format!(
        "{sh} -c '{touch} {data}/by-grandchild; echo grandchild=$?'; {touch} {data}/by-child; echo child=$?",
        sh = sh.display(),
        touch = touch.display(),
        data = s.path("data").display()
    );
    let out = s.run(&policy, "sh", &["-c", &script]);
    let data = s.path("data").display().to_string();
    expect(
        &out,
        0,
        "grandchild=1\nchild=1\n",
        &format!("touch: {data}/by-grandchild: Permission denied\ntouch: {data}/by-child: Permission denied\n"),
    );
    s.victim_intact();
    assert!(!s.path("data/by-child").exists() && !s.path("data/by-grandchild").exists());
}

#[test]
fn arguments_and_environment_pass_through_unchanged() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    let policy = s.policy_with_shell();
    let sh = s.path("bin/sh");
    let odd = OsString::from_vec(vec![b'n', 0xff, b'-', 0xc3, b'\xbc']);
    let run = |program: &Path, args: &[OsString]| {
        let vars = [
            (OsStr::new("PALISADE_T"), OsStr::new("value with spaces")),
            (OsStr::new("EMPTY"), OsStr::new("")),
            (OsStr::from_bytes(b"ODD"), odd.as_os_str()),
        ];
        let argv = [OsStr::new(INIT_IN), OsStr::new("--"), program.as_os_str()];
        let out = in_container(
            &policy,
            At::ReadOnlyBind,
            argv.into_iter().chain(args.iter().map(OsString::as_os_str)),
            Some(&vars),
        );
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).as_ref()
            ),
            (Some(0), "")
        );
        out.stdout
    };
    // argv: the shell prints its own /proc/PID/cmdline
    let args: Vec<OsString> = vec![
        "-c".into(),
        // "; true": a last simple command would be exec'd in place of the shell
        format!("{} /proc/$$/cmdline; true", s.path("bin/cat").display()).into(),
        "arg0".into(),
        "a b".into(),
        "".into(),
        "--".into(),
        "--policy".into(),
        odd.clone(),
    ];
    let mut want = sh.as_os_str().as_bytes().to_vec();
    want.push(0);
    for a in &args {
        want.extend_from_slice(a.as_bytes());
        want.push(0);
    }
    assert_eq!(run(&sh, &args), want);
    // environment: exactly the three variables, byte for byte
    let environ = run(&s.path("bin/cat"), &["/proc/self/environ".into()]);
    let mut vars: Vec<&[u8]> = environ
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .collect();
    vars.sort();
    let odd_var = [b"ODD=".as_slice(), odd.as_bytes()].concat();
    let mut want: Vec<&[u8]> = vec![b"EMPTY=", &odd_var, b"PALISADE_T=value with spaces"];
    want.sort();
    assert_eq!(vars, want);
}

#[test]
fn malformed_policy_is_refused_naming_the_problem() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    let marker = s.path("tmp/ran");
    let attempt = |name: &str, json: &str| {
        let policy = s.write_policy(name, json);
        let out = s.run(&policy, "touch", &[marker.to_str().unwrap()]);
        assert!(!marker.exists(), "the program ran despite {json}");
        out
    };
    let out = attempt("bad-json.json", "{\"version\": 2,\n \"execute\": [\"/bin\",]}");
    expect(&out, 126, "", "palisade-init: policy /.palisade/policy.json: expected value at line 2 column 21\n");
    let out = attempt("relative.json", r#"{"version":2,"write_beneath":["/tmp","var/log"]}"#);
    expect(
        &out,
        126,
        "",
        "palisade-init: policy /.palisade/policy.json: write_beneath[1] \"var/log\": is not an absolute path\n",
    );
    let out = attempt("typo.json", r#"{"version":2,"deny_exec":[]}"#);
    expect(
        &out,
        126,
        "",
        "palisade-init: policy /.palisade/policy.json: unknown field `deny_exec`, expected one of `version`, \
         `write_beneath`, `execute`, `deny_execute`, `no_execute` at line 1 column 24\n",
    );
    let out = in_container(
        &s.path("absent.json"),
        At::Absent,
        [INIT_IN, "--", s.path("bin/touch").to_str().unwrap(), marker.to_str().unwrap()].map(OsStr::new),
        None,
    );
    expect(
        &out,
        126,
        "",
        "palisade-init: policy /.palisade/policy.json: cannot read: No such file or directory (os error 2)\n",
    );
    assert!(!marker.exists());
    // usage errors are 126 as well, one line
    let out = in_container(&s.path("absent.json"), At::Absent, [INIT_IN, "true"].map(OsStr::new), None);
    expect(
        &out,
        126,
        "",
        "palisade-init: unexpected argument \"true\" (the program goes after --) (see --help)\n",
    );
}

/// Finding 1 of issue 15: `/.palisade/init --policy /proc/self/fd/0 -- sh` with an audit policy
/// on stdin ran the shell unconfined. Now no argument, file or stdin chooses the policy.
#[test]
fn a_forged_policy_is_refused() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    let marker = s.path("data/escaped");
    let touch = s.path("bin/touch");
    let touch = touch.to_str().unwrap();
    let m = marker.to_str().unwrap();
    let forged = s.write_policy("forged.json", r#"{"version":1,"mode":"audit"}"#);
    let run = |policy: &Path, at: At, argv: &[&str]| {
        let out = in_container(policy, at, argv.iter().map(OsStr::new), None);
        assert!(!marker.exists(), "the payload ran: {argv:?}");
        out
    };
    // --policy is not an option any more, whatever it names
    for flag in [&["--policy", "/proc/self/fd/0"][..], &["--policy=/tmp/p.json"]] {
        let mut argv = vec![INIT_IN];
        argv.extend_from_slice(flag);
        argv.extend_from_slice(&["--", touch, m]);
        expect(
            &run(&s.policy(), At::ReadOnlyBind, &argv),
            126,
            "",
            "palisade-init: --policy is not accepted: the policy is always /.palisade/policy.json, mounted by \
             palisade-runc (see --help)\n",
        );
    }
    // the old audit policy, even where the wrapper would mount it
    expect(
        &run(&forged, At::ReadOnlyBind, &[INIT_IN, "--", touch, m]),
        126,
        "",
        "palisade-init: policy /.palisade/policy.json: unsupported version 1 (this palisade-init reads version 2)\n",
    );
    // a permissive v2 policy that the wrapper did not mount
    let open = s.write_policy("open.json", r#"{"version":2,"write_beneath":["/"],"execute":["/"]}"#);
    expect(
        &run(&open, At::WritableCopy, &[INIT_IN, "--", touch, m]),
        126,
        "",
        "palisade-init: policy /.palisade/policy.json: refused: not on a read-only mount (palisade-runc \
         bind-mounts it read-only)\n",
    );
    expect(
        &run(&open, At::Symlink, &[INIT_IN, "--", touch, m]),
        126,
        "",
        "palisade-init: policy /.palisade/policy.json: refused: it is a symbolic link\n",
    );
    fs::set_permissions(&open, fs::Permissions::from_mode(0o664)).unwrap();
    expect(
        &run(&open, At::ReadOnlyBind, &[INIT_IN, "--", touch, m]),
        126,
        "",
        "palisade-init: policy /.palisade/policy.json: refused: writable by group or others (mode 0664)\n",
    );
    fs::set_permissions(&open, fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::chown(&open, Some(1000), None).unwrap();
    expect(
        &run(&open, At::ReadOnlyBind, &[INIT_IN, "--", touch, m]),
        126,
        "",
        "palisade-init: policy /.palisade/policy.json: refused: owned by uid 1000, not root\n",
    );
    // a fifo mounted there (not a regular file; opened without blocking)
    let fifo = s.path("tmp/fifo");
    let made = Command::new("/usr/bin/mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    expect(
        &run(&fifo, At::ReadOnlyBind, &[INIT_IN, "--", touch, m]),
        126,
        "",
        "palisade-init: policy /.palisade/policy.json: refused: not a regular file\n",
    );
    s.victim_intact();
}

/// A confined process naming `/.palisade/init` again (what the wrapper now always prefixes, and
/// what an attacker would try) only adds a layer: the outer ruleset still holds.
#[test]
fn nested_init_cannot_lift_the_outer_ruleset() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    // The test build of palisade-init is dynamically linked: its loader must be executable.
    let policy = s.write_policy(
        "nested.json",
        r#"{"version":2,"write_beneath":["{ROOT}/tmp"],
            "execute":["{ROOT}/bin","/.palisade/init","/lib64/ld-linux-x86-64.so.2"],"deny_execute":["{ROOT}/bin/sh"]}"#,
    );
    let sh = s.path("bin/sh");
    let sh = sh.to_str().unwrap();
    let marker = s.path("data/escaped");
    let m = marker.to_str().unwrap();
    let touch = s.path("bin/touch");
    let touch = touch.to_str().unwrap();
    let denied = format!("palisade-init: cannot execute {sh}: Permission denied (os error 13)\n");
    let out = in_container(
        &policy,
        At::ReadOnlyBind,
        [INIT_IN, "--", INIT_IN, "--", sh, "-c", "echo escaped"].map(OsStr::new),
        None,
    );
    expect(&out, 126, "", &denied);
    // the forgery of finding 1, from inside a confined process
    let out = in_container(
        &policy,
        At::ReadOnlyBind,
        [INIT_IN, "--", INIT_IN, "--policy", "/proc/self/fd/0", "--", sh].map(OsStr::new),
        None,
    );
    assert_eq!(out.status.code(), Some(126));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("palisade-init: --policy is not accepted"));
    // writes stay confined under the inner init
    let out = in_container(&policy, At::ReadOnlyBind, [INIT_IN, "--", INIT_IN, "--", touch, m].map(OsStr::new), None);
    expect(&out, 1, "", &format!("touch: {m}: Permission denied\n"));
    assert!(!marker.exists());
    // Landlock stacks at most 16 layers: the 17th palisade-init refuses to run anything.
    let never = s.path("tmp/never");
    let mut argv = Vec::new();
    for _ in 0..17 {
        argv.extend([INIT_IN, "--"]);
    }
    argv.extend([touch, never.to_str().unwrap()]);
    let out = in_container(&policy, At::ReadOnlyBind, argv.iter().map(OsStr::new), None);
    assert_eq!(out.status.code(), Some(126));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("palisade-init: landlock: ") && err.lines().count() == 1, "{err}");
    assert!(!never.exists());
    let ok = s.path("tmp/ok");
    let mut argv = Vec::new();
    for _ in 0..16 {
        argv.extend([INIT_IN, "--"]);
    }
    argv.extend([touch, ok.to_str().unwrap()]);
    let out = in_container(&policy, At::ReadOnlyBind, argv.iter().map(OsStr::new), None);
    expect(&out, 0, "", "");
    assert!(ok.exists(), "16 layers still run the program");
}

/// W^X (finding 2): with the whole tree executable, a copy into a `no_execute` place does not
/// run, in the directory or anywhere beneath it, while everything else still does.
#[test]
fn nothing_in_a_no_execute_place_runs() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    let policy = s.write_policy(
        "wx.json",
        r#"{"version":2,"write_beneath":["{ROOT}/tmp"],"execute":["{ROOT}"],
            "deny_execute":["{ROOT}/bin/sh"],"no_execute":["{ROOT}/tmp"]}"#,
    );
    let echo = s.path("bin/echo");
    fs::create_dir(s.path("tmp/deep")).unwrap();
    for copy in [s.path("tmp/echo"), s.path("tmp/deep/echo")] {
        expect(&s.run(&policy, "cp", &[echo.to_str().unwrap(), copy.to_str().unwrap()]), 0, "", "");
        let out = run_init(&policy, copy.as_os_str(), [OsStr::new("ran")]);
        expect(
            &out,
            126,
            "",
            &format!("palisade-init: cannot execute {}: Permission denied (os error 13)\n", copy.display()),
        );
        let out = s.run(&policy, "env", &[copy.to_str().unwrap(), "ran"]);
        expect(&out, 126, "", &format!("env: can't execute '{}': Permission denied\n", copy.display()));
    }
    // a copied shell does not run either
    let shell = s.path("tmp/x");
    expect(&s.run(&policy, "cp", &[s.path("bin/sh").to_str().unwrap(), shell.to_str().unwrap()]), 0, "", "");
    expect(
        &run_init(&policy, shell.as_os_str(), [OsStr::new("-c"), OsStr::new("echo escaped")]),
        126,
        "",
        &format!("palisade-init: cannot execute {}: Permission denied (os error 13)\n", shell.display()),
    );
    // executables elsewhere beneath the execute root run
    expect(&s.run(&policy, "echo", &["fine"]), 0, "fine\n", "");
}

/// Finding 3: a shell outside the standard bin directories is denied when the daemon lists it,
/// and so is its hard link (the daemon lists links; palisade-init does not search for them).
#[test]
fn a_denied_program_anywhere_in_the_image_does_not_run() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    fs::create_dir_all(s.path("opt/tools")).unwrap();
    fs::copy(BUSYBOX, s.path("opt/tools/bash")).unwrap();
    fs::hard_link(s.path("opt/tools/bash"), s.path("opt/tools/helper")).unwrap();
    let policy = s.write_policy(
        "opt.json",
        r#"{"version":2,"write_beneath":["{ROOT}/tmp"],"execute":["{ROOT}"],
            "deny_execute":["{ROOT}/opt/tools/bash","{ROOT}/opt/tools/helper"],"no_execute":["{ROOT}/tmp"]}"#,
    );
    for name in ["opt/tools/bash", "opt/tools/helper"] {
        let p = s.path(name);
        expect(
            &run_init(&policy, p.as_os_str(), [OsStr::new("-c"), OsStr::new("echo escaped")]),
            126,
            "",
            &format!("palisade-init: cannot execute {}: Permission denied (os error 13)\n", p.display()),
        );
    }
    expect(&s.run(&policy, "sh", &["-c", "echo allowed"]), 0, "allowed\n", "");
}

#[test]
fn explain_prints_the_rules() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    fs::write(s.path("bin/sub/tool"), "").unwrap();
    let policy = s.write_policy(
        "explain.json",
        r#"{"version":2,"write_beneath":["{ROOT}/tmp","{ROOT}/nope"],
           "execute":["{ROOT}/bin","{ROOT}/tmp/x","{ROOT}/data"],"deny_execute":["{ROOT}/bin/sh"],
           "no_execute":["{ROOT}/data/out"]}"#,
    );
    fs::write(s.path("tmp/x"), "").unwrap();
    fs::create_dir(s.path("data/out")).unwrap();
    // --explain reads any file: it confines nothing
    let out = Command::new(INIT).arg("--explain").arg(&policy).output().unwrap();
    let r = s.root.display();
    let mut want = format!("write {r}/tmp/\n");
    let mut names: Vec<&str> = APPLETS.iter().copied().filter(|a| *a != "sh").collect();
    names.push("sub");
    names.sort();
    for n in &names {
        want.push_str(&format!(
            "execute {r}/bin/{n}{}\n",
            if *n == "sub" { "/" } else { "" }
        ));
    }
    want.push_str(&format!(
        "execute {r}/data/victim\nexecute {r}/tmp/x\ndenied-program {r}/bin/sh\ndenied-writable-place {r}/data/out\n\
         missing {r}/nope\nwarning-writable-and-executable {r}/tmp/x\n\
         # 1 write rules, {} execute rules, {} directory entries walked\n",
        names.len() + 2,
        APPLETS.len() + 1 + 2
    ));
    expect(&out, 0, &want, "");
}

/// Landlock's execute right is checked when a file is executed (and for the ELF interpreter the
/// kernel loads), not when a file is mapped: the dynamic loader, once executable, runs any
/// readable ELF file given as its argument. This test pins that limit (see README).
#[test]
fn known_limit_the_dynamic_loader_runs_unexecutable_files() {
    if !privileged() {
        return;
    }
    let loader = Path::new("/lib64/ld-linux-x86-64.so.2");
    if !loader.exists() || !Path::new("/usr/bin/id").exists() {
        println!(
            "SKIPPED: no glibc loader at {} or no /usr/bin/id",
            loader.display()
        );
        return;
    }
    let s = Scratch::new();
    let id = s.path("tmp/id");
    fs::copy("/usr/bin/id", &id).unwrap();
    let policy = s.write_policy(
        "loader.json",
        &format!(
            r#"{{"version":2,"write_beneath":["{{ROOT}}/tmp"],"execute":["{}"]}}"#,
            loader.display()
        ),
    );
    let out = run_init(&policy, id.as_os_str(), [OsStr::new("-u")]);
    expect(
        &out,
        126,
        "",
        &format!(
            "palisade-init: cannot execute {}: Permission denied (os error 13)\n",
            id.display()
        ),
    );
    let out = run_init(
        &policy,
        loader.as_os_str(),
        [id.as_os_str(), OsStr::new("-u")],
    );
    expect(&out, 0, "0\n", "");
}
