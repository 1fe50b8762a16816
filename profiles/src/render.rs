//! A profile written back as text that [`crate::ProfileSet::from_texts`] reads into the same
//! profile: how a capture carries the profile a container ran under.

use serde_json::{json, Value};

use crate::Profile;

impl Profile {
    /// The profile as one JSON object (JSON is YAML: the loader reads it back). Everything but
    /// its origin survives the round trip.
    pub fn to_text(&self) -> String {
        let globs = |g: &[crate::glob::Glob]| g.iter().map(|g| Value::from(g.as_str())).collect::<Vec<_>>();
        let mut m = serde_json::Map::new();
        m.insert("name".into(), self.name.clone().into());
        m.insert("description".into(), self.description.clone().into());
        let mut matching = serde_json::Map::new();
        if !self.images.is_empty() {
            matching.insert("images".into(), self.images.iter().map(|p| Value::from(p.written.as_str())).collect());
        }
        if !self.digests.is_empty() {
            matching.insert("digests".into(), self.digests.clone().into());
        }
        if self.is_default {
            matching.insert("default".into(), true.into());
        }
        m.insert("match".into(), matching.into());
        if let Some(mode) = self.mode {
            m.insert("mode".into(), mode.as_str().into());
        }
        let allow_write: Vec<Value> = self.immutable.allow_write.iter().map(|p| p.display().to_string().into()).collect();
        m.insert("immutable".into(), json!({ "enabled": self.immutable.enabled, "allow_write": allow_write }));
        m.insert("deny_shells".into(), self.deny_shells.into());
        m.insert("deny_package_managers".into(), self.deny_package_managers.into());
        m.insert(
            "exec".into(),
            json!({
                "deny": globs(&self.exec.deny),
                "allow": globs(&self.exec.allow),
                "allow_scripts": globs(&self.exec.allow_scripts),
            }),
        );
        m.insert("enforce_rules".into(), self.enforce_rules.clone().into());
        Value::Object(m).to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::{Profile, ProfileSet};

    fn without_origin(mut p: Profile) -> Profile {
        p.origin = Profile::builtin_default().origin;
        for (i, img) in p.images.iter_mut().enumerate() {
            img.pos = Default::default();
            img.index = i;
        }
        p
    }

    #[test]
    fn shipped_profiles_survive_the_round_trip() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("default");
        let set = ProfileSet::load(&[dir]).expect("shipped profiles");
        assert!(set.profiles().len() >= 5);
        for p in set.profiles() {
            let text = p.to_text();
            let back = ProfileSet::from_texts(&[("capture", &text)]).unwrap_or_else(|e| panic!("{}: {e:?}\n{text}", p.name));
            assert_eq!(without_origin(back.profiles()[0].clone()), without_origin(p.clone()), "{text}");
        }
    }

    #[test]
    fn every_field_survives_the_round_trip() {
        let text = "name: full\ndescription: all of it\nmatch:\n  images: [\"app:*\", \"quay.io/x/y:1\"]\n  \
            digests: [\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"]\nmode: enforce\n\
            immutable:\n  enabled: true\n  allow_write: [/tmp, /var/cache/app]\ndeny_shells: true\n\
            deny_package_managers: true\nexec:\n  deny: [/usr/bin/curl, \"/opt/**\"]\n  allow: [\"/app/*\"]\n  \
            allow_scripts: [/entry.sh]\nenforce_rules: [Terminal shell in container]\n";
        let set = ProfileSet::from_texts(&[("f.yaml", text)]).expect("profile");
        let p = &set.profiles()[0];
        let back = ProfileSet::from_texts(&[("capture", &p.to_text())]).expect("rendered profile");
        assert_eq!(without_origin(back.profiles()[0].clone()), without_origin(p.clone()));
    }
}
