use palisade_rules::alert::Alert;
use serde_json::Value;

use super::FalcoRender;
use crate::config::parse;

fn alert() -> Alert {
    Alert {
        time_ns: 1_709_210_096_000_000_007,
        rule: "R".into(),
        priority: "Warning",
        source: "syscall",
        output: "shell opened (proc=sh)".into(),
        output_fields: vec![("proc.name".into(), palisade_rules::output::FieldValue::Text("sh".into()))],
        tags: vec!["t".into()],
        hostname: "h".into(),
        extra: Vec::new(),
    }
}

fn render(yaml: &str) -> (String, Value) {
    let config = parse(yaml, "falco.yaml", &[]).expect("config");
    let a = alert();
    let mut text = a.to_text();
    let mut json = String::new();
    a.write_json(&mut json, config.json_include_output_property, config.json_include_tags_property);
    FalcoRender::of(&config).apply(&a, Some(&mut text), &mut json);
    (text, serde_json::from_str(&json).expect("json"))
}

#[test]
fn defaults_change_nothing() {
    let (text, json) = render("");
    assert_eq!(text, "12:34:56.000000007: Warning shell opened (proc=sh)");
    assert_eq!(json["output"], "12:34:56.000000007: Warning shell opened (proc=sh)");
    assert!(json.get("message").is_none() && json["output_fields"]["proc.name"] == "sh");
}

#[test]
fn iso_time_message_and_no_output_fields() {
    let (text, json) = render("time_format_iso_8601: true\njson_include_message_property: true\njson_include_output_fields_property: false\n");
    assert_eq!(text, "2024-02-29T12:34:56.000000007Z: Warning shell opened (proc=sh)");
    assert_eq!(json["output"], "2024-02-29T12:34:56.000000007Z: Warning shell opened (proc=sh)");
    assert_eq!(json["message"], "shell opened (proc=sh)");
    assert!(json.get("output_fields").is_none(), "{json}");
    assert_eq!((json["rule"].as_str(), json["tags"][0].as_str()), (Some("R"), Some("t")), "the rest stays");
}
