//! An order-preserving JSON tree for audit events.
//!
//! `serde_json::Value` sorts object keys (the workspace does not enable `preserve_order`), but
//! Falco's plugins render objects in the order the API server wrote them (`jevt.obj`,
//! `ka.req.role.rules`, `ka.req.binding.subjects`): this tree keeps that order. Lookups are
//! linear scans, which beats hashing for the 5–20 keys an audit object has; duplicate keys are
//! kept and the first one wins, like fastjson (which the plugins use).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Number;

/// A JSON value with object keys in document order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object (the first one, if repeated).
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follow `keys` through objects only (fastjson's `Get(keys...)` without array indexes,
    /// which is all the k8saudit plugin's fixed paths need).
    pub(crate) fn path(&self, keys: &[&str]) -> Option<&Json> {
        keys.iter().try_fold(self, |v, k| v.get(k))
    }

    /// One step of a JSON pointer as fastjson takes it: a member of an object, or an element
    /// of an array when the token is a non-negative decimal index.
    pub(crate) fn step(&self, token: &str) -> Option<&Json> {
        match self {
            Json::Obj(_) => self.get(token),
            Json::Arr(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        }
    }

    /// The text of a string value.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of an array.
    pub(crate) fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Arr(items) => Some(items),
            _ => None,
        }
    }

    /// A short name of the value's type for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Num(_) => "a number",
            Json::Str(_) => "a string",
            Json::Arr(_) => "an array",
            Json::Obj(_) => "an object",
        }
    }

    /// Compact JSON text (fastjson's `MarshalTo`).
    pub(crate) fn to_compact(&self) -> String {
        // Serializing an in-memory tree into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// JSON text indented by two spaces (Go's `json.Indent(.., "", "  ")`, the json plugin's
    /// `json.obj`).
    pub(crate) fn to_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Json::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Num(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Num(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        // JSON text has no NaN or infinity, so this only fails for values that never parse.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Num))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Json::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((k, v)) = map.next_entry::<String, Json>()? {
            members.push((k, v));
        }
        Ok(Json::Obj(members))
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Num(n) => n.serialize(s),
            Json::Str(v) => s.serialize_str(v),
            Json::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Json::Obj(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Json {
        serde_json::from_str(s).expect("valid JSON")
    }

    #[test]
    fn keeps_key_order_and_first_duplicate() {
        let v = parse(r#"{"z":1,"a":[true,null,"x"],"m":{"b":2.5,"a":-3},"z":9}"#);
        assert_eq!(v.to_compact(), r#"{"z":1,"a":[true,null,"x"],"m":{"b":2.5,"a":-3},"z":9}"#);
        assert_eq!(v.get("z"), Some(&Json::Num(1.into())));
        assert_eq!(v.path(&["m", "a"]).map(Json::to_compact).as_deref(), Some("-3"));
        assert_eq!(v.get("a").and_then(|a| a.step("2")).and_then(Json::as_str), Some("x"));
        assert_eq!(v.get("a").and_then(|a| a.step("3")), None);
        assert_eq!(v.get("a").and_then(|a| a.step("-1")), None);
    }

    #[test]
    fn pretty_matches_go_indent() {
        let v = parse(r#"{"a":[],"b":{},"c":[1,{"d":"e"}]}"#);
        assert_eq!(
            v.to_pretty(),
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": \"e\"\n    }\n  ]\n}"
        );
    }

    #[test]
    fn from_serde_value() {
        let v = Json::deserialize(serde_json::json!({"k": [1, "two", null]})).expect("convert");
        assert_eq!(v.to_compact(), r#"{"k":[1,"two",null]}"#);
    }
}
