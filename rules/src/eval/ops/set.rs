//! Value sets (`in`/`intersects`), their hasher, and the list modifiers (`oneof`/`anyof`/`allof`).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

use crate::condition::ast::{CmpOp, Modifier};
use crate::value::Value;

use super::regex::CompiledRegex;
use super::text::trim_trailing_nuls;
use super::{compare, ip_in_net};

/// A fast, non-cryptographic hasher (FxHash) for the constant sets built at compile time.
#[derive(Clone, Copy, Default)]
pub struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `BuildHasher` for [`FxHasher`].
pub type FxBuild = BuildHasherDefault<FxHasher>;

/// The constants of an `in`/`intersects` list (or `== anyof`/`!= allof`), built once, with
/// hash lookups for text, bytes, integers and addresses and a linear CIDR scan for networks.
/// Lookups never allocate. Semantics are upstream's set lookup: exact bytes (text with trailing
/// NULs removed), numeric equality, address equality, and an address matching a network
/// constant if inside it.
#[derive(Debug, Default)]
pub struct ValueSet {
    bytes: HashSet<Box<[u8]>, FxBuild>,
    min_len: usize,
    max_len: usize,
    ints: HashSet<i128, FxBuild>,
    doubles: HashSet<u64, FxBuild>,
    bools: [bool; 2],
    ips: HashSet<IpAddr, FxBuild>,
    nets: Vec<(IpAddr, u8)>,
    len: usize,
}

impl ValueSet {
    /// Build from the parsed constants.
    pub fn new(values: Vec<Value<'static>>) -> Self {
        let mut s = ValueSet {
            min_len: usize::MAX,
            ..Default::default()
        };
        s.len = values.len();
        for v in values {
            match v {
                Value::Str(b) => {
                    let b = trim_trailing_nuls(&b);
                    s.min_len = s.min_len.min(b.len());
                    s.max_len = s.max_len.max(b.len());
                    s.bytes.insert(b.into());
                }
                Value::Bytes(b) => {
                    s.min_len = s.min_len.min(b.len());
                    s.max_len = s.max_len.max(b.len());
                    s.bytes.insert(b.into_owned().into_boxed_slice());
                }
                Value::Signed(i) => {
                    s.ints.insert(i128::from(i));
                }
                Value::Unsigned(u) => {
                    s.ints.insert(i128::from(u));
                }
                Value::Double(d) => {
                    s.doubles.insert(d.to_bits());
                }
                Value::Bool(b) => s.bools[usize::from(b)] = true,
                Value::Ip(a) => {
                    s.ips.insert(a);
                }
                Value::Net(a, l) => s.nets.push((a, l)),
            }
        }
        s
    }

    /// Number of constants.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn contains_bytes(&self, b: &[u8]) -> bool {
        b.len() >= self.min_len && b.len() <= self.max_len && self.bytes.contains(b)
    }

    /// Whether `v` equals one of the constants.
    pub fn contains(&self, v: &Value<'_>) -> bool {
        match v {
            Value::Str(b) => self.contains_bytes(trim_trailing_nuls(b)),
            Value::Bytes(b) => self.contains_bytes(b),
            Value::Signed(i) => self.ints.contains(&i128::from(*i)),
            Value::Unsigned(u) => self.ints.contains(&i128::from(*u)),
            Value::Double(d) => {
                self.doubles.contains(&d.to_bits())
                    || (d.fract() == 0.0 && self.ints.contains(&(*d as i128)))
            }
            Value::Bool(b) => self.bools[usize::from(*b)],
            Value::Ip(a) => {
                self.ips.contains(a) || self.nets.iter().any(|(n, l)| ip_in_net(a, n, *l))
            }
            Value::Net(a, _) => {
                self.ips.contains(a) || self.nets.iter().any(|(n, l)| ip_in_net(a, n, *l))
            }
        }
    }

    /// `in` for a list-valued field: every extracted value is in the set (true when there are
    /// none).
    pub fn contains_all(&self, values: &[Value<'_>]) -> bool {
        values.iter().all(|v| self.contains(v))
    }

    /// `intersects`: at least one extracted value is in the set.
    pub fn contains_any(&self, values: &[Value<'_>]) -> bool {
        values.iter().any(|v| self.contains(v))
    }
}

/// Combine `n` per-item results with a modifier: `oneof` = exactly one true, `anyof` = at least
/// one, `allof` = all; always false when `n == 0`. Stops as early as the answer is known.
pub fn apply_modifier(m: Modifier, n: usize, mut item: impl FnMut(usize) -> bool) -> bool {
    if n == 0 {
        return false;
    }
    match m {
        Modifier::AnyOf => (0..n).any(item),
        Modifier::AllOf => (0..n).all(item),
        Modifier::OneOf => {
            let mut found = false;
            for i in 0..n {
                if item(i) {
                    if found {
                        return false;
                    }
                    found = true;
                }
            }
            found
        }
    }
}

/// `lhs op <modifier> (rhs...)` for a single value: each item compared with [`compare`]
/// (`in`/`intersects` as equality; `pmatch` never matches, as upstream). For `regex` the items are
/// compiled on every call — precompile with [`CompiledRegex`] and use [`regex_with_modifier`].
pub fn compare_with_modifier(
    op: CmpOp,
    m: Modifier,
    lhs: &Value<'_>,
    rhs: &[Value<'static>],
) -> bool {
    if op == CmpOp::Regex {
        let Some(text) = lhs.as_bytes() else {
            return false;
        };
        return apply_modifier(m, rhs.len(), |i| {
            rhs[i]
                .as_bytes()
                .and_then(|p| std::str::from_utf8(p).ok())
                .and_then(|p| CompiledRegex::new(p).ok())
                .is_some_and(|re| re.is_match(text))
        });
    }
    apply_modifier(m, rhs.len(), |i| compare(op, lhs, &rhs[i]))
}

/// `lhs regex <modifier> (patterns...)` with precompiled patterns.
pub fn regex_with_modifier(m: Modifier, lhs: &[u8], res: &[CompiledRegex]) -> bool {
    apply_modifier(m, res.len(), |i| res[i].is_match(lhs))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::test_support::{ip, pc, s};
    use super::*;
    use crate::fields::FieldType;

    #[test]
    fn net_modifiers() {
        let sip = ip("142.251.111.147");
        let list = |xs: &[&str]| -> Vec<Value<'static>> {
            xs.iter()
                .map(|x| pc(FieldType::IpAddr, CmpOp::Eq, x))
                .collect()
        };
        let m = |op, md, xs: &[&str]| compare_with_modifier(op, md, &sip, &list(xs));
        use Modifier::*;
        assert!(m(CmpOp::Eq2, AnyOf, &["142.251.111.147"]));
        assert!(m(CmpOp::Eq2, AnyOf, &["10.0.0.1", "142.251.111.147"]));
        assert!(!m(CmpOp::Eq2, AnyOf, &["10.0.0.1", "192.168.0.1"]));
        assert!(m(CmpOp::Eq2, AllOf, &["142.251.111.147"]));
        assert!(!m(CmpOp::Eq2, AllOf, &["142.251.111.147", "10.0.0.1"]));
        assert!(m(CmpOp::Eq2, OneOf, &["142.251.111.147"]));
        assert!(m(CmpOp::Eq2, OneOf, &["10.0.0.1", "142.251.111.147"]));
        assert!(!m(CmpOp::Eq2, OneOf, &["10.0.0.1", "192.168.0.1"]));
        assert!(m(CmpOp::Ne, AnyOf, &["10.0.0.1"]));
        assert!(!m(CmpOp::Ne, AnyOf, &["142.251.111.147"]));
        assert!(m(CmpOp::Ne, AllOf, &["10.0.0.1", "192.168.0.1"]));
    }

    #[test]
    fn modifiers_upstream() {
        // cmp_operator_modifiers.cpp, proc.name = myexe
        let v = s("myexe");
        let m = |op, md, xs: &[&str]| {
            let rhs: Vec<Value<'static>> = xs.iter().map(|x| s(x)).collect();
            compare_with_modifier(op, md, &v, &rhs)
        };
        use CmpOp::*;
        use Modifier::*;
        assert!(m(Eq2, OneOf, &["myexe", "bash"]));
        assert!(m(Eq2, OneOf, &["myexe"]));
        assert!(!m(Eq2, OneOf, &["bash", "sh"]));
        assert!(!m(Eq2, OneOf, &["myexe", "myexe"]));
        assert!(m(Eq2, AnyOf, &["myexe", "bash"]));
        assert!(!m(Eq2, AnyOf, &["bash", "sh"]));
        assert!(m(Eq2, AnyOf, &["myexe", "myexe"]));
        assert!(m(Eq2, AllOf, &["myexe"]));
        assert!(!m(Eq2, AllOf, &["myexe", "bash"]));
        assert!(!m(Eq2, AllOf, &["bash", "sh"]));
        assert!(m(Eq2, AllOf, &["myexe", "myexe"]));
        assert!(m(Ne, OneOf, &["myexe", "myexe", "bash"]));
        assert!(!m(Ne, OneOf, &["myexe", "myexe"]));
        assert!(!m(Ne, OneOf, &["bash", "sh"]));
        assert!(m(Ne, OneOf, &["myexe", "bash"]));
        assert!(m(Ne, AnyOf, &["bash", "sh"]));
        assert!(m(Ne, AnyOf, &["myexe", "bash"]));
        assert!(m(Ne, AllOf, &["bash", "sh"]));
        assert!(!m(Ne, AllOf, &["myexe", "bash"]));
        assert!(m(Contains, OneOf, &["myex", "bash"]));
        assert!(!m(Contains, OneOf, &["my", "exe"]));
        assert!(m(Contains, AllOf, &["my", "exe"]));
        assert!(!m(Contains, AllOf, &["myex", "bash"]));
        assert!(m(IContains, OneOf, &["MYEX", "BASH"]));
        assert!(!m(IContains, OneOf, &["MY", "EXE"]));
        assert!(m(IContains, AllOf, &["MY", "EXE"]));
        assert!(m(StartsWith, OneOf, &["my", "bash"]));
        assert!(!m(StartsWith, OneOf, &["my", "mye"]));
        assert!(m(StartsWith, AllOf, &["my", "mye"]));
        assert!(!m(StartsWith, AllOf, &["my", "bash"]));
        assert!(m(EndsWith, OneOf, &["exe", "sh"]));
        assert!(!m(EndsWith, OneOf, &["exe", "yexe"]));
        assert!(m(EndsWith, AllOf, &["exe", "yexe"]));
        assert!(m(Glob, OneOf, &["my*", "bash"]));
        assert!(!m(Glob, OneOf, &["my*", "*exe"]));
        assert!(m(Glob, AllOf, &["my*", "*exe"]));
        assert!(!m(Glob, AllOf, &["bash", "sh*"]));
        assert!(m(IGlob, OneOf, &["MY*", "BASH"]));
        assert!(!m(IGlob, OneOf, &["MY*", "*EXE"]));
        assert!(m(IGlob, AllOf, &["MY*", "*EXE"]));
        assert!(m(Regex, OneOf, &["my.*", "b.*"]));
        assert!(!m(Regex, OneOf, &["b.*", "sh.*"]));
        assert!(!m(Regex, OneOf, &["my.*", ".*exe"]));
        assert!(m(Regex, AnyOf, &["my.*", ".*exe"]));
        assert!(m(Regex, AllOf, &["my.*", ".*exe"]));
        assert!(!m(Regex, AllOf, &["my.*", "b.*"]));
        let up = s("MYEXE");
        let mu = |op, md, xs: &[&str]| {
            let rhs: Vec<Value<'static>> = xs.iter().map(|x| s(x)).collect();
            compare_with_modifier(op, md, &up, &rhs)
        };
        assert!(mu(Eq2, OneOf, &["MYEXE", "BASH"]));
        assert!(mu(Ne, OneOf, &["MYEXE", "BASH"]));
        assert!(!mu(Ne, OneOf, &["BASH", "SH"]));
        assert!(!mu(Ne, AllOf, &["MYEXE", "BASH"]));
        // Empty right-hand side: always false.
        for op in [Eq2, Ne] {
            for md in [OneOf, AnyOf, AllOf] {
                assert!(!m(op, md, &[]), "{op:?} {md:?}");
            }
        }
        // pmatch with a modifier never matches (upstream flt_compare has no pmatch).
        assert!(!m(PMatch, AnyOf, &["/"]));
        let res = [
            CompiledRegex::new("my.*").expect("re"),
            CompiledRegex::new(".*exe").expect("re"),
        ];
        assert!(regex_with_modifier(AllOf, b"myexe", &res));
        assert!(!regex_with_modifier(OneOf, b"myexe", &res));
        assert!(!regex_with_modifier(AnyOf, b"myexe", &[]));
    }

    #[test]
    fn value_set() {
        let set = ValueSet::new(vec![s("bash"), s("sh"), s("zsh")]);
        assert_eq!(set.len(), 3);
        assert!(set.contains(&s("sh")));
        assert!(!set.contains(&s("s")));
        assert!(!set.contains(&s("fish")));
        assert!(set.contains(&Value::Str(Cow::Borrowed(b"bash\0"))));
        assert!(set.contains_all(&[s("sh"), s("bash")]));
        assert!(!set.contains_all(&[s("sh"), s("fish")]));
        assert!(set.contains_all(&[]));
        assert!(set.contains_any(&[s("fish"), s("zsh")]));
        assert!(!set.contains_any(&[]));
        let nums = ValueSet::new(vec![Value::Unsigned(22), Value::Unsigned(80)]);
        assert!(nums.contains(&Value::Unsigned(80)));
        assert!(nums.contains(&Value::Signed(22)));
        assert!(!nums.contains(&Value::Unsigned(443)));
        let nets = ValueSet::new(vec![
            pc(FieldType::IpNet, CmpOp::In, "10.0.0.0/8"),
            pc(FieldType::IpNet, CmpOp::In, "fd00::/8"),
        ]);
        assert!(nets.contains(&ip("10.1.2.3")));
        assert!(nets.contains(&ip("fd12::1")));
        assert!(!nets.contains(&ip("11.0.0.1")));
        let ips = ValueSet::new(vec![ip("127.0.0.1"), ip("::1")]);
        assert!(ips.contains(&ip("::1")));
        assert!(!ips.contains(&ip("127.0.0.2")));
        let bools = ValueSet::new(vec![Value::Bool(true)]);
        assert!(bools.contains(&Value::Bool(true)));
        assert!(!bools.contains(&Value::Bool(false)));
        let bytes = ValueSet::new(vec![Value::Bytes(Cow::Borrowed(b"a\0"))]);
        assert!(bytes.contains(&Value::Bytes(Cow::Borrowed(b"a\0"))));
        assert!(!bytes.contains(&Value::Bytes(Cow::Borrowed(b"a"))));
        let empty = ValueSet::new(vec![]);
        assert!(empty.is_empty());
        assert!(!empty.contains(&s("")));
        let many: Vec<Value<'static>> = (0..50).map(|i| s(&format!("proc{i}"))).collect();
        let big = ValueSet::new(many);
        assert!(big.contains(&s("proc49")));
        assert!(!big.contains(&s("proc50")));
    }
}
