//! A loaded set of profiles and the choice of one per image.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use palisade_rules::yaml::Pos;

use crate::load::{read_text, Read};
use crate::profile::{ImagePattern, Profile};
use crate::reference::CanonicalRef;
use crate::ProfileError;

/// Profiles in load order, validated as a whole.
#[derive(Clone, Debug)]
pub struct ProfileSet {
    profiles: Vec<Profile>,
    default: Option<usize>,
    builtin: Profile,
}

/// Why a profile was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchedBy<'a> {
    /// One of its `match.digests`.
    Digest(&'a str),
    /// The most specific matching `match.images` pattern.
    Image(&'a ImagePattern),
    /// Nothing matched; it is the set's default profile.
    Default,
    /// Nothing matched and the set has no default: [`Profile::builtin_default`].
    Builtin,
}

/// The profile for an image and why.
#[derive(Clone, Copy, Debug)]
pub struct Resolved<'a> {
    /// The profile that applies.
    pub profile: &'a Profile,
    /// How it was chosen.
    pub by: MatchedBy<'a>,
}

impl Default for ProfileSet {
    fn default() -> ProfileSet {
        ProfileSet { profiles: Vec::new(), default: None, builtin: Profile::builtin_default() }
    }
}

impl ProfileSet {
    /// Loads files and directories in the order given; a directory contributes its `*.yaml`
    /// and `*.yml` files (not hidden ones, not recursively) sorted by file name. That order is
    /// the load order, which breaks specificity ties. Every error of every file is returned.
    pub fn load(paths: &[PathBuf]) -> Result<ProfileSet, Vec<ProfileError>> {
        let mut errors = Vec::new();
        let mut sources = Vec::new();
        for path in paths {
            match profile_files(path) {
                Ok(files) => {
                    for file in files {
                        match std::fs::read_to_string(&file) {
                            Ok(text) => sources.push((file.display().to_string(), text)),
                            Err(source) => errors.push(ProfileError::Read { path: file, source }),
                        }
                    }
                }
                Err(source) => errors.push(ProfileError::Read { path: path.clone(), source }),
            }
        }
        let refs: Vec<(&str, &str)> = sources.iter().map(|(f, t)| (f.as_str(), t.as_str())).collect();
        match ProfileSet::from_texts(&refs) {
            Ok(set) if errors.is_empty() => Ok(set),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }

    /// Builds a set from `(file name, text)` pairs in load order.
    pub fn from_texts(sources: &[(&str, &str)]) -> Result<ProfileSet, Vec<ProfileError>> {
        let mut errors = Vec::new();
        let mut reads = Vec::new();
        for (file, text) in sources {
            reads.extend(read_text(file, text, &mut errors));
        }
        check_set(&reads, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let default = reads.iter().position(|r| r.profile.is_default);
        let profiles = reads.into_iter().map(|r| r.profile).collect();
        Ok(ProfileSet { profiles, default, builtin: Profile::builtin_default() })
    }

    /// The profiles in load order.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profile named `name`.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The profile for unmatched images: the set's default, else the built-in one.
    pub fn default_profile(&self) -> &Profile {
        self.default.map_or(&self.builtin, |i| &self.profiles[i])
    }

    /// The profile for an image: see [`ProfileSet::resolve`].
    pub fn for_image(&self, reference: &str, digest: Option<&str>) -> &Profile {
        self.resolve(reference, digest).profile
    }

    /// The profile for an image as the runtime reports it (`reference`, possibly with
    /// `@digest`, and the resolved `digest` if known). A digest match wins over any pattern;
    /// among patterns the one with the most literal characters wins, ties going to the earlier
    /// in load order; then the default profile.
    pub fn resolve(&self, reference: &str, digest: Option<&str>) -> Resolved<'_> {
        let image = CanonicalRef::parse(reference);
        let digests = [digest, image.digest.as_deref()];
        for p in &self.profiles {
            if let Some(d) = p.digests.iter().find(|d| digests.contains(&Some(d.as_str()))) {
                return Resolved { profile: p, by: MatchedBy::Digest(d) };
            }
        }
        let text = image.match_text();
        let mut best: Option<(&Profile, &ImagePattern)> = None;
        for p in &self.profiles {
            for pat in p.images.iter().filter(|pat| pat.glob.matches(&text)) {
                if best.is_none_or(|(_, b)| pat.glob.literal_len() > b.glob.literal_len()) {
                    best = Some((p, pat));
                }
            }
        }
        match (best, self.default) {
            (Some((profile, pat)), _) => Resolved { profile, by: MatchedBy::Image(pat) },
            (None, Some(i)) => Resolved { profile: &self.profiles[i], by: MatchedBy::Default },
            (None, None) => Resolved { profile: &self.builtin, by: MatchedBy::Builtin },
        }
    }
}

/// The files `path` stands for, in load order.
fn profile_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !std::fs::metadata(path)?.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        if yaml && !name.starts_with('.') && !entry.file_type()?.is_dir() {
            files.push(entry.path());
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Checks across profiles: unique names, unambiguous patterns and digests, one default.
fn check_set(reads: &[Read], errors: &mut Vec<ProfileError>) {
    let at = |r: &Read, pos: Pos| format!("{}:{}:{}", r.profile.origin.file, pos.line, pos.col);
    let mut names: HashMap<&str, &Read> = HashMap::new();
    let mut patterns: HashMap<&str, (&Read, &ImagePattern)> = HashMap::new();
    let mut digests: HashMap<&str, (&Read, Pos)> = HashMap::new();
    let mut default: Option<&Read> = None;
    for r in reads {
        let p = &r.profile;
        let err = |pos, message| ProfileError::at(&p.origin.file, pos, message, Some(p.name.clone()));
        if let Some(first) = names.get(p.name.as_str()) {
            let m =
                format!("name: duplicate profile name '{}' (first defined at {})", p.name, at(first, first.name_pos));
            errors.push(err(r.name_pos, m));
        } else {
            names.insert(&p.name, r);
        }
        for pat in &p.images {
            if let Some((first, fp)) = patterns.get(pat.glob.as_str()) {
                let same =
                    if fp.written == pat.written { String::new() } else { format!(" (written '{}')", fp.written) };
                let m = format!(
                    "match.images[{}]: pattern '{}' is also in profile '{}'{same} at {}: which profile applies would be ambiguous",
                    pat.index,
                    pat.written,
                    first.profile.name,
                    at(first, fp.pos)
                );
                errors.push(err(pat.pos, m));
            } else {
                patterns.insert(pat.glob.as_str(), (r, pat));
            }
        }
        for (d, &(i, pos)) in p.digests.iter().zip(&r.digest_pos) {
            if let Some((first, fpos)) = digests.get(d.as_str()) {
                let m = format!(
                    "match.digests[{i}]: digest is also in profile '{}' at {}: which profile applies would be ambiguous",
                    first.profile.name,
                    at(first, *fpos)
                );
                errors.push(err(pos, m));
            } else {
                digests.insert(d, (r, pos));
            }
        }
        if p.is_default {
            match default {
                Some(first) => {
                    let (key, pos) = r.default_at;
                    let m = format!(
                        "{key}: a second default profile (the first is '{}' at {})",
                        first.profile.name,
                        at(first, first.default_at.1)
                    );
                    errors.push(err(pos, m));
                }
                None => default = Some(r),
            }
        }
    }
}
