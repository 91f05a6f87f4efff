//! Where profiles and secrets live, behind two small traits so the CLI (a JSON file) and the
//! desktop app (`tauri-plugin-store`) keep the same data, and tests use memory.
//!
//! The profile file never holds a secret. It is written atomically (temporary file in the same
//! directory, fsync, rename, fsync of the directory), so a crash at any moment leaves either the
//! old or the new file. A file that cannot be read is never overwritten: the error says so.

use crate::error::{Error, Result};
use crate::profile::Profile;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const SCHEMA_VERSION: u32 = 1;

pub trait ProfileStore: Send + Sync {
    fn load(&self) -> Result<Vec<Profile>>;
    fn save(&self, profiles: &[Profile]) -> Result<()>;
    /// Where the profiles are, for messages.
    fn location(&self) -> String;
}

/// The document both stores write: a schema version and the profiles.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileDocument {
    pub schema_version: u32,
    pub profiles: Vec<Profile>,
}

impl ProfileDocument {
    pub fn new(profiles: Vec<Profile>) -> Self {
        ProfileDocument { schema_version: SCHEMA_VERSION, profiles }
    }

    /// Reads a document, refusing unknown versions rather than guessing.
    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<u32>,
        }
        let v: Version = serde_json::from_str(text).map_err(|e| {
            Error::storage(format!("{origin} is not valid JSON ({e}); it was left untouched"))
                .with_hint("fix the file, or move it aside to start with no profiles")
        })?;
        match v.schema_version {
            Some(SCHEMA_VERSION) => {}
            Some(n) if n > SCHEMA_VERSION => {
                return Err(Error::storage(format!(
                    "{origin} has schema version {n}, newer than this OAuth Desk understands ({SCHEMA_VERSION}); it was left untouched"
                ))
                .with_hint("upgrade OAuth Desk to read it"))
            }
            other => {
                return Err(Error::storage(format!("{origin} has an unknown schema version {other:?}; it was left untouched"))
                    .with_hint("fix the file, or move it aside to start with no profiles"))
            }
        }
        serde_json::from_str(text).map_err(|e| {
            Error::storage(format!("{origin} has a profile that cannot be read ({e}); it was left untouched"))
                .with_hint("fix the named field, or move the file aside")
        })
    }
}

/// Profiles in `profiles.json` under the data directory.
pub struct JsonFileProfileStore {
    path: PathBuf,
}

impl JsonFileProfileStore {
    pub fn new(dir: &Path) -> Self {
        JsonFileProfileStore { path: dir.join("profiles.json") }
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ProfileStore for JsonFileProfileStore {
    fn load(&self) -> Result<Vec<Profile>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(ProfileDocument::from_json(&text, &self.path.display().to_string())?.profiles),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::storage(format!("cannot read {}: {e}", self.path.display()))),
        }
    }

    fn save(&self, profiles: &[Profile]) -> Result<()> {
        let mut text = serde_json::to_string_pretty(&ProfileDocument::new(profiles.to_vec()))
            .map_err(|e| Error::storage(format!("cannot encode the profiles: {e}")))?;
        text.push('\n');
        write_atomically(&self.path, text.as_bytes())
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

/// Temporary file beside the target, fsync, rename over the target, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::storage(format!("cannot create {}: {e}", dir.display())))?;
    let fail =
        |what: &str, e: &dyn std::fmt::Display| Error::storage(format!("cannot {what} {}: {e}; the old file is unchanged", path.display()));
    let mut tmp = tempfile::Builder::new().prefix(".profiles-").suffix(".tmp").tempfile_in(dir).map_err(|e| fail("write", &e))?;
    tmp.write_all(bytes).map_err(|e| fail("write", &e))?;
    tmp.as_file().sync_all().map_err(|e| fail("sync", &e))?;
    tmp.persist(path).map_err(|e| fail("replace", &e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Profiles in memory (tests, and a desktop store before it loads).
#[derive(Default)]
pub struct MemoryProfileStore(Mutex<Vec<Profile>>);

impl ProfileStore for MemoryProfileStore {
    fn load(&self) -> Result<Vec<Profile>> {
        Ok(self.0.lock().map_err(|_| Error::storage("profile store poisoned"))?.clone())
    }
    fn save(&self, profiles: &[Profile]) -> Result<()> {
        *self.0.lock().map_err(|_| Error::storage("profile store poisoned"))? = profiles.to_vec();
        Ok(())
    }
    fn location(&self) -> String {
        "memory".into()
    }
}

/// The kinds of secret kept per profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKey {
    ClientSecret,
    Password,
    SecurityToken,
    /// The whole token set, as JSON.
    Token,
    /// A sign-in in progress (state and PKCE verifier), for the paste flow across CLI runs.
    PendingAuthorization,
}

impl SecretKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKey::ClientSecret => "client_secret",
            SecretKey::Password => "password",
            SecretKey::SecurityToken => "security_token",
            SecretKey::Token => "token",
            SecretKey::PendingAuthorization => "pending_authorization",
        }
    }
    /// A secret of the profile itself (not a token or a sign-in in progress).
    pub fn is_profile_secret(self) -> bool {
        matches!(self, SecretKey::ClientSecret | SecretKey::Password | SecretKey::SecurityToken)
    }
    pub const ALL: [SecretKey; 5] =
        [SecretKey::ClientSecret, SecretKey::Password, SecretKey::SecurityToken, SecretKey::Token, SecretKey::PendingAuthorization];
}

/// Secrets by profile id. Calls may block (D-Bus): async callers use `spawn_blocking`.
pub trait SecretStore: Send + Sync {
    fn get(&self, profile_id: &str, key: SecretKey) -> Result<Option<Secret>>;
    fn set(&self, profile_id: &str, key: SecretKey, value: &Secret) -> Result<()>;
    fn delete(&self, profile_id: &str, key: SecretKey) -> Result<()>;
    /// `keyring (Secret Service)`, `memory (this run only)`.
    fn describe(&self) -> String;
    /// False when secrets vanish with the process.
    fn is_persistent(&self) -> bool;
}

/// The OS keyring through the `keyring` crate: Secret Service on Linux, Keychain on macOS,
/// Credential Manager on Windows. Entries: service `oauth-desk`, user `<profile id>/<key>`.
pub struct KeyringSecretStore {
    service: String,
}

impl KeyringSecretStore {
    pub fn new(service: impl Into<String>) -> Self {
        KeyringSecretStore { service: service.into() }
    }

    /// Opens the keyring, or says why it cannot be reached.
    pub fn open(service: impl Into<String>) -> Result<Self> {
        let store = Self::new(service);
        match store.entry("probe", SecretKey::Token)?.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(store),
            Err(e) => Err(keyring_error("reach", e)),
        }
    }

    fn entry(&self, profile_id: &str, key: SecretKey) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, &format!("{profile_id}/{}", key.as_str())).map_err(|e| keyring_error("address", e))
    }
}

fn keyring_error(what: &str, e: keyring::Error) -> Error {
    // keyring's messages name the platform failure, never the secret.
    Error::storage(format!("cannot {what} the OS keyring: {e}")).with_hint(
        "start a Secret Service (GNOME Keyring, KeePassXC) and unlock it, or pass secrets by environment variable or standard input",
    )
}

impl SecretStore for KeyringSecretStore {
    fn get(&self, profile_id: &str, key: SecretKey) -> Result<Option<Secret>> {
        match self.entry(profile_id, key)?.get_password() {
            Ok(s) => Ok(Some(Secret::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error("read", e)),
        }
    }
    fn set(&self, profile_id: &str, key: SecretKey, value: &Secret) -> Result<()> {
        self.entry(profile_id, key)?.set_password(value.expose()).map_err(|e| keyring_error("write", e))
    }
    fn delete(&self, profile_id: &str, key: SecretKey) -> Result<()> {
        match self.entry(profile_id, key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error("delete from", e)),
        }
    }
    fn describe(&self) -> String {
        format!("OS keyring (service `{}`)", self.service)
    }
    fn is_persistent(&self) -> bool {
        true
    }
}

/// Secrets for this run only, when no keyring is reachable. Never written anywhere.
#[derive(Default)]
pub struct MemorySecretStore(Mutex<HashMap<(String, SecretKey), Secret>>);

impl SecretStore for MemorySecretStore {
    fn get(&self, profile_id: &str, key: SecretKey) -> Result<Option<Secret>> {
        Ok(self.0.lock().map_err(|_| Error::storage("secret store poisoned"))?.get(&(profile_id.to_string(), key)).cloned())
    }
    fn set(&self, profile_id: &str, key: SecretKey, value: &Secret) -> Result<()> {
        self.0.lock().map_err(|_| Error::storage("secret store poisoned"))?.insert((profile_id.to_string(), key), value.clone());
        Ok(())
    }
    fn delete(&self, profile_id: &str, key: SecretKey) -> Result<()> {
        self.0.lock().map_err(|_| Error::storage("secret store poisoned"))?.remove(&(profile_id.to_string(), key));
        Ok(())
    }
    fn describe(&self) -> String {
        "memory (this run only)".into()
    }
    fn is_persistent(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Provider, ProviderKind};

    #[test]
    fn file_store_round_trip_and_no_temp_left() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonFileProfileStore::new(dir.path());
        assert!(store.load().unwrap().is_empty(), "a missing file is an empty list");
        let p = Profile::new("acme", "cid", Provider::default_for(ProviderKind::Salesforce));
        store.save(std::slice::from_ref(&p)).unwrap();
        assert_eq!(store.load().unwrap(), vec![p]);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["profiles.json"], "only the file itself remains");
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(text.contains("\"schema_version\": 1"));
    }

    #[test]
    fn corrupt_or_future_files_are_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonFileProfileStore::new(dir.path());
        std::fs::write(store.path(), "{\"schema_version\": 1, \"profiles\": [").unwrap();
        let e = store.load().unwrap_err();
        assert!(e.message.contains("not valid JSON") && e.message.contains("left untouched"), "{e}");
        std::fs::write(store.path(), "{\"schema_version\": 7, \"profiles\": []}").unwrap();
        let e = store.load().unwrap_err();
        assert!(e.message.contains("schema version 7"), "{e}");
        assert_eq!(std::fs::read_to_string(store.path()).unwrap(), "{\"schema_version\": 7, \"profiles\": []}");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonFileProfileStore::new(dir.path());
        let p = Profile::new("acme", "cid", Provider::default_for(ProviderKind::Salesforce));
        store.save(std::slice::from_ref(&p)).unwrap();
        let before = std::fs::read(store.path()).unwrap();
        // The target is now a directory's child that cannot be replaced: make the dir read-only.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
        let result = store.save(&[]);
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        if result.is_ok() {
            // root ignores directory permissions; the rename path is exercised by the other tests.
            return;
        }
        assert!(result.unwrap_err().message.contains("old file is unchanged"));
        assert_eq!(std::fs::read(store.path()).unwrap(), before);
    }
}
