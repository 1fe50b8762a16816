//! Real Landlock, real programs: palisade-init confines busybox applets copied into a scratch tree.
//!
//! Each applet is a separate copy of `/bin/busybox` (its own inode) so execute rules can tell
//! them apart. Needs root and a kernel with Landlock; without them the tests fail unless
//! `PALISADE_ALLOW_SKIP_PRIVILEGED=1`.
#![expect(clippy::unwrap_used, reason = "test helpers panic at the failing call")]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const INIT: &str = env!("CARGO_BIN_EXE_palisade-init");
const BUSYBOX: &str = "/bin/busybox";
const APPLETS: &[&str] = &[
    "sh", "touch", "cat", "echo", "rm", "mv", "truncate", "cp", "env", "mkdir", "ln", "mknod",
    "printf",
];

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
    } else {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("probe.json");
        fs::write(
            &policy,
            format!(r#"{{"version":1,"mode":"enforce","execute":["{BUSYBOX}"]}}"#),
        )
        .unwrap();
        let out = Command::new(INIT)
            .arg("--policy")
            .arg(&policy)
            .args(["--", BUSYBOX, "true"])
            .output()
            .unwrap();
        (!out.status.success()).then(|| {
            format!(
                "no working Landlock: {}",
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
            r#"{"version":1,"mode":"enforce","write_beneath":["{ROOT}/tmp"],
               "execute":["{ROOT}/bin"],"deny_execute":["{ROOT}/bin/sh"]}"#,
        )
    }

    /// tmp writable; bin executable including sh.
    fn policy_with_shell(&self) -> PathBuf {
        self.write_policy(
            "policy-sh.json",
            r#"{"version":1,"mode":"enforce","write_beneath":["{ROOT}/tmp"],"execute":["{ROOT}/bin"]}"#,
        )
    }

    /// Runs `palisade-init --policy POLICY -- bin/<applet> ARGS...`.
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

fn run_init<'a>(
    policy: &Path,
    program: &OsStr,
    args: impl IntoIterator<Item = &'a OsStr>,
) -> Output {
    Command::new(INIT)
        .arg("--policy")
        .arg(policy)
        .arg("--")
        .arg(program)
        .args(args)
        .output()
        .unwrap()
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
    // a pre-existing hard link of the denied shell inside an execute directory is denied too
    fs::hard_link(s.path("bin/sh"), s.path("bin/sub/ash")).unwrap();
    let policy = s.policy();
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
        let out = Command::new(INIT)
            .env_clear()
            .env("PALISADE_T", "value with spaces")
            .env("EMPTY", "")
            .env(OsStr::from_bytes(b"ODD"), &odd)
            .arg("--policy")
            .arg(&policy)
            .arg("--")
            .arg(program)
            .args(args)
            .output()
            .unwrap();
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
fn malformed_policy_is_refused_naming_file_and_problem() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    let marker = s.path("tmp/ran");
    let attempt = |name: &str, json: &str| {
        let policy = s.write_policy(name, json);
        let out = s.run(&policy, "touch", &[marker.to_str().unwrap()]);
        assert!(!marker.exists(), "the program ran despite {json}");
        (policy.display().to_string(), out)
    };
    let (p, out) = attempt(
        "bad-json.json",
        "{\"version\": 1,\n \"mode\": \"enforce\",\n \"execute\": [\"/bin\",]}",
    );
    expect(
        &out,
        126,
        "",
        &format!("palisade-init: policy {p}: trailing comma at line 3 column 21\n"),
    );
    let (p, out) = attempt(
        "relative.json",
        r#"{"version":1,"mode":"enforce","write_beneath":["/tmp","var/log"]}"#,
    );
    expect(
        &out,
        126,
        "",
        &format!(
            "palisade-init: policy {p}: write_beneath[1] \"var/log\": is not an absolute path\n"
        ),
    );
    let (p, out) = attempt(
        "typo.json",
        r#"{"version":1,"mode":"enforce","deny_exec":[]}"#,
    );
    expect(
        &out,
        126,
        "",
        &format!(
            "palisade-init: policy {p}: unknown field `deny_exec`, expected one of `version`, `mode`, \
             `write_beneath`, `execute`, `deny_execute` at line 1 column 41\n"
        ),
    );
    let (p, out) = attempt("mode.json", r#"{"version":1,"mode":"enforcing"}"#);
    expect(&out, 126, "", &format!("palisade-init: policy {p}: unknown variant `enforcing`, expected `enforce` or `audit` at line 1 column 31\n"));
    let absent = s.path("absent.json");
    let out = s.run(&absent, "touch", &[marker.to_str().unwrap()]);
    expect(
        &out,
        126,
        "",
        &format!(
            "palisade-init: policy {}: cannot read: No such file or directory (os error 2)\n",
            absent.display()
        ),
    );
    assert!(!marker.exists());
    // usage errors are 126 as well, with the usage
    let out = Command::new(INIT)
        .args(["--policy", "/p.json", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("palisade-init: unexpected argument \"true\" (the program goes after --)\nusage: palisade-init"));
}

#[test]
fn audit_mode_runs_unrestricted_and_silently() {
    if !privileged() {
        return;
    }
    let s = Scratch::new();
    let policy = s.write_policy(
        "audit.json",
        r#"{"version":1,"mode":"audit","write_beneath":["{ROOT}/tmp"],"execute":["{ROOT}/bin"],"deny_execute":["{ROOT}/bin/sh"]}"#,
    );
    let script = format!(
        "{} -s 0 {}; {} -c 'echo shell ran'",
        s.path("bin/truncate").display(),
        s.path("data/victim").display(),
        s.path("bin/sh").display()
    );
    expect(
        &s.run(&policy, "sh", &["-c", &script]),
        0,
        "shell ran\n",
        "",
    );
    assert_eq!(fs::read_to_string(s.path("data/victim")).unwrap(), "");
    expect(
        &run_init(&policy, OsStr::new(BUSYBOX), [OsStr::new("true")]),
        0,
        "",
        "",
    );
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
        r#"{"version":1,"mode":"enforce","write_beneath":["{ROOT}/tmp","{ROOT}/nope"],
           "execute":["{ROOT}/bin","{ROOT}/tmp/x"],"deny_execute":["{ROOT}/bin/sh"]}"#,
    );
    fs::write(s.path("tmp/x"), "").unwrap();
    let out = Command::new(INIT)
        .arg("--policy")
        .arg(&policy)
        .arg("--explain")
        .output()
        .unwrap();
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
        "execute {r}/tmp/x\ndenied {r}/bin/sh\nmissing {r}/nope\nwarning-writable-and-executable {r}/tmp/x\n\
         # 1 write rules, {} execute rules, {} directory entries walked\n",
        names.len() + 1,
        APPLETS.len() + 1
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
            r#"{{"version":1,"mode":"enforce","write_beneath":["{{ROOT}}/tmp"],"execute":["{}"]}}"#,
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
