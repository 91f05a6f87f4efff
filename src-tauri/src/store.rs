//! Profiles through `tauri-plugin-store`, behind the core's `ProfileStore` trait.
//!
//! The plugin loads the file and keeps it in memory; saving goes through the core's atomic
//! writer (temporary file, fsync, rename) instead of the plugin's `save`, which is a plain
//! `fs::write` that a crash can leave half-written. A file that cannot be read is set aside with
//! a timestamp before the plugin opens it, and the user is told.

use oauth_desk_core::storage::{write_atomically, ProfileDocument, ProfileStore, SCHEMA_VERSION};
use oauth_desk_core::{Error, Profile, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tauri::Runtime;
use tauri_plugin_store::Store;

pub const STORE_FILE: &str = "profiles.json";

pub struct PluginProfileStore<R: Runtime> {
    store: Arc<Store<R>>,
    path: PathBuf,
}

impl<R: Runtime> PluginProfileStore<R> {
    pub fn new(store: Arc<Store<R>>, path: PathBuf) -> Self {
        PluginProfileStore { store, path }
    }
}

impl<R: Runtime> ProfileStore for PluginProfileStore<R> {
    fn load(&self) -> Result<Vec<Profile>> {
        let Some(profiles) = self.store.get("profiles") else { return Ok(Vec::new()) };
        let doc = serde_json::json!({ "schema_version": self.store.get("schema_version").unwrap_or(Value::from(SCHEMA_VERSION)), "profiles": profiles });
        Ok(ProfileDocument::from_json(&doc.to_string(), &self.location())?.profiles)
    }

    fn save(&self, profiles: &[Profile]) -> Result<()> {
        let value = serde_json::to_value(profiles).map_err(|e| Error::storage(format!("cannot encode the profiles: {e}")))?;
        self.store.set("schema_version", SCHEMA_VERSION);
        self.store.set("profiles", value);
        let all: serde_json::Map<String, Value> = self.store.entries().into_iter().collect();
        let mut bytes = serde_json::to_vec_pretty(&all).map_err(|e| Error::storage(e.to_string()))?;
        bytes.push(b'\n');
        write_atomically(&self.path, &bytes)
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

/// If the store file cannot be read as a profile document of a known version, renames it to
/// `profiles.json.unreadable-<UTC time>` and says so. Nothing else is touched.
pub fn set_aside_if_unreadable(path: &Path, now_secs: i64) -> Option<String> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(_) => return None,
    };
    let problem = match std::str::from_utf8(&text) {
        Err(_) => "it is not text".to_string(),
        Ok(t) if t.trim().is_empty() => return None,
        Ok(t) => match ProfileDocument::from_json(t, "the profile store") {
            Ok(_) => return None,
            Err(e) => e.message,
        },
    };
    let aside = path.with_file_name(format!("{}.unreadable-{}", path.file_name()?.to_string_lossy(), stamp(now_secs)));
    match std::fs::rename(path, &aside) {
        Ok(()) => Some(format!(
            "{problem}. It was moved to {} and OAuth Desk started with no profiles; your keyring secrets are untouched.",
            aside.display()
        )),
        Err(e) => Some(format!("{problem}, and it could not be moved aside ({e}).")),
    }
}

fn stamp(secs: i64) -> String {
    // yyyymmddThhmmssZ without a date crate: reuse the civil-from-days arithmetic.
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_files_are_set_aside_with_a_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        std::fs::write(&path, "{\"schema_version\": 1, \"profiles\": [{\"broken\"").unwrap();
        let notice = set_aside_if_unreadable(&path, 1_795_251_338).expect("a notice");
        assert!(notice.contains("not valid JSON"), "{notice}");
        assert!(!path.exists());
        let aside = dir.path().join("profiles.json.unreadable-20261121T085538Z");
        assert!(aside.exists(), "{notice}");
        assert!(std::fs::read_to_string(aside).unwrap().contains("broken"), "content kept");

        std::fs::write(&path, "{\"schema_version\": 9, \"profiles\": []}").unwrap();
        assert!(set_aside_if_unreadable(&path, 0).unwrap().contains("schema version 9"));

        std::fs::write(&path, "{\"schema_version\": 1, \"profiles\": []}").unwrap();
        assert_eq!(set_aside_if_unreadable(&path, 0), None, "a good file stays");
        assert!(path.exists());
    }
}
