//! Label values, label sets and the per-family series caches.
//!
//! prometheus-client 0.24 writes label values verbatim (`LabelValueEncoder` is a plain `Write`), so a
//! rule named `Read sensitive file "untrusted"` would end the quoted value early and make the whole
//! scrape unparseable. [`LabelValue`] escapes what the OpenMetrics and Prometheus text formats require
//! (`\` → `\\`, `"` → `\"`, line feed → `\n`); every free-form label in this crate goes through it.

use std::collections::HashMap;
use std::fmt::Write;
use std::hash::{BuildHasherDefault, Hasher};

use parking_lot::RwLock;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// Most series one labelled family keeps; further label values share one series whose labels are all
/// [`OVERFLOW`]. Rules × priorities, event types and configured outputs stay far below this; the cap
/// only stops a caller bug (an unbounded value such as a container id passed as a label) from growing
/// the daemon's memory and every scrape without bound.
pub const MAX_SERIES_PER_FAMILY: usize = 2048;

/// The label value of the series that absorbs values beyond [`MAX_SERIES_PER_FAMILY`].
pub const OVERFLOW: &str = "__overflow__";

/// A free-form label value, escaped when encoded.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(crate) struct LabelValue(Box<str>);

impl LabelValue {
    pub(crate) fn new(value: &str) -> Self {
        LabelValue(value.into())
    }
}

impl EncodeLabelValue for LabelValue {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        write_escaped(encoder, &self.0)
    }
}

/// Writes `value` escaped for a quoted label value of the text exposition formats.
pub(crate) fn write_escaped(out: &mut impl Write, value: &str) -> std::fmt::Result {
    let mut rest = value;
    while let Some(at) = rest.find(['\\', '"', '\n']) {
        out.write_str(&rest[..at])?;
        out.write_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            _ => "\\n",
        })?;
        rest = &rest[at + 1..];
    }
    out.write_str(rest)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct EventLabels {
    pub(crate) evt_type: LabelValue,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct AlertLabels {
    pub(crate) rule: LabelValue,
    pub(crate) priority: LabelValue,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DecisionLabels {
    pub(crate) profile: LabelValue,
    pub(crate) enforced: bool,
}

/// `palisade_syscall_budget_drops_total`'s labels: the one family labelled by container, kept
/// bounded by its caller (only containers that dropped, removed when the container is forgotten;
/// [`MAX_SERIES_PER_FAMILY`] still caps it).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BudgetLabels {
    pub(crate) container_id: LabelValue,
    pub(crate) container_name: LabelValue,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OutputLabels {
    pub(crate) output: LabelValue,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReloadLabels {
    pub(crate) result: &'static str,
}

/// Series handles of one family looked up by a borrowed label value.
///
/// `prometheus_client::Family` is keyed by its owned label set, so looking a series up there would
/// allocate the label set on every call. This map is keyed by `Box<str>` and looked up by `&str`
/// under a read lock: a hit neither allocates nor writes shared state beyond the lock word and the
/// counter itself. The handles (`Counter` is an `Arc` around its atomic) are shared with the family,
/// which is what the registry encodes.
pub(crate) struct SeriesCache<V> {
    map: RwLock<HashMap<Box<str>, V, BuildHasherDefault<Fnv1a>>>,
    cap: usize,
}

impl<V> SeriesCache<V> {
    pub(crate) fn new(cap: usize) -> Self {
        SeriesCache {
            map: RwLock::new(HashMap::default()),
            cap,
        }
    }

    /// Runs `use_series` on the series for `key`, making it with `make` on first use. Once the cache
    /// holds `cap` series, a new `key` is replaced by [`OVERFLOW`]; both closures get the key in use.
    pub(crate) fn with<R>(
        &self,
        key: &str,
        use_series: impl FnOnce(&str, &V) -> R,
        make: impl FnOnce(&str) -> V,
    ) -> R {
        if let Some(series) = self.map.read().get(key) {
            return use_series(key, series);
        }
        let mut map = self.map.write();
        let key = if map.len() >= self.cap && !map.contains_key(key) {
            OVERFLOW
        } else {
            key
        };
        if !map.contains_key(key) {
            let series = make(key);
            map.insert(key.into(), series);
        }
        match map.get(key) {
            Some(series) => use_series(key, series),
            None => unreachable!("the series was inserted above"),
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.read().len()
    }
}

/// FNV-1a: for the short keys here (event types, rule names, profiles) it costs a few ns where
/// std's SipHash costs about 20. The keys come from the decoder and the loaded configuration, not
/// from whoever triggers events, and the series cap bounds the map anyway, so hash flooding is not
/// a concern that SipHash would need to answer.
pub(crate) struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(value: &str) -> String {
        let mut out = String::new();
        write_escaped(&mut out, value).expect("writing to a String");
        out
    }

    #[test]
    fn escapes_backslash_quote_and_line_feed_only() {
        assert_eq!(escaped("plain (v2) {x}, y=z"), "plain (v2) {x}, y=z");
        assert_eq!(
            escaped(r#"Read sensitive file "untrusted" (v2)"#),
            r#"Read sensitive file \"untrusted\" (v2)"#
        );
        assert_eq!(escaped("a\\b\nc\"\""), r#"a\\b\nc\"\""#);
        assert_eq!(escaped("tab\tand ünïcode"), "tab\tand ünïcode");
        assert_eq!(escaped(""), "");
        assert_eq!(escaped("\\"), "\\\\");
    }

    #[test]
    fn cache_overflows_into_one_series() {
        let cache: SeriesCache<String> = SeriesCache::new(2);
        let made = |key: &str| key.to_owned();
        let used = |key: &str, series: &String| {
            assert_eq!(key, series);
            series.clone()
        };
        assert_eq!(cache.with("a", used, made), "a");
        assert_eq!(cache.with("b", used, made), "b");
        assert_eq!(cache.with("c", used, made), OVERFLOW);
        assert_eq!(cache.with("d", used, made), OVERFLOW);
        assert_eq!(cache.with("a", used, made), "a");
        assert_eq!(cache.len(), 3);
    }
}
