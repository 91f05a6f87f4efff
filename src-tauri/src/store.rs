//! The profile file at start-up. Profiles live in the data directory the CLI uses too (the
//! core's `JsonFileProfileStore`, locked and atomic); this module sets an unreadable file aside
//! so the app can start, and says so.

use oauth_desk_core::storage::ProfileDocument;
use std::path::Path;

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

/// `20261121T085538Z`.
fn stamp(secs: i64) -> String {
    oauth_desk_core::clock::rfc3339(secs.saturating_mul(1000)).replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_files_are_set_aside_with_a_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.json");
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
