//! Where profiles and secrets live, behind two small traits; the CLI and the desktop app share
//! one profile file ([`default_data_dir`]) and one keyring service, and tests use memory.
//!
//! The profile file never holds a secret. Every change is a read-modify-write under an exclusive
//! OS file lock (so twenty processes adding profiles at once lose none), written atomically
//! (temporary file in the same directory, fsync, rename, fsync of the directory), so a crash at
//! any moment leaves either the old or the new file. A file that cannot be read is never
//! overwritten: the error says so. Renewals take a per-profile lock too ([`FileLocks`]), so that
//! processes sharing a token renew it once.

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
    /// A read-modify-write: `change` edits the profiles as they are now, and they are saved
    /// before anyone else may change them. Nothing is saved when `change` fails.
    fn update(&self, change: &mut dyn FnMut(&mut Vec<Profile>) -> Result<()>) -> Result<()>;
    /// Where the profiles are, for messages.
    fn location(&self) -> String;
}

/// The data directory both shells share: `OAUTH_DESK_DATA_DIR`, else
/// `$XDG_DATA_HOME/oauth-desk`, else `~/.local/share/oauth-desk`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("OAUTH_DESK_DATA_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("oauth-desk");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/oauth-desk"),
        None => PathBuf::from(".oauth-desk"),
    }
}

/// Where versions before the shared directory kept the desktop app's profiles
/// (`tauri-plugin-store` under the app's identifier).
pub fn legacy_app_store() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".local/share"),
    };
    Some(base.join("dev.oauthdesk.app").join("profiles.json"))
}

/// An exclusive lock on a file, held until dropped (also released if the process dies).
pub struct FileLock(#[allow(dead_code)] std::fs::File);

impl FileLock {
    /// Waits for the exclusive lock on `path` (created if missing).
    pub fn acquire(path: &Path) -> Result<FileLock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::storage(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| Error::storage(format!("cannot open the lock file {}: {e}", path.display())))?;
        file.lock().map_err(|e| Error::storage(format!("cannot lock {}: {e}", path.display())))?;
        Ok(FileLock(file))
    }
}

/// Per-profile renewal locks shared by every process on this machine: one lock file per
/// profile under a directory.
pub trait RenewalLocks: Send + Sync {
    /// Blocks until this process holds the profile's renewal lock.
    fn acquire(&self, profile_id: &str) -> Result<FileLock>;
}

pub struct FileLocks {
    dir: PathBuf,
}

impl FileLocks {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileLocks { dir: dir.into() }
    }
}

impl RenewalLocks for FileLocks {
    fn acquire(&self, profile_id: &str) -> Result<FileLock> {
        let safe: String = profile_id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        FileLock::acquire(&self.dir.join(format!("renew-{safe}.lock")))
    }
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

/// What [`JsonFileProfileStore::adopt`] brought over from another profile file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adopted {
    /// Profiles added under their own names.
    pub added: Vec<String>,
    /// Profiles whose name was taken here: (old name, the name they got).
    pub renamed: Vec<(String, String)>,
    /// Where the old file was moved, so it is adopted once.
    pub moved_to: PathBuf,
}

impl Adopted {
    /// One sentence for the user.
    pub fn describe(&self, from: &Path, to: &str) -> String {
        let mut names: Vec<String> = self.added.clone();
        names.extend(self.renamed.iter().map(|(old, new)| format!("{old} (now {new}: the name was taken)")));
        format!(
            "Moved {} profile(s) from {} into {to}: {}. The old file is kept as {}.",
            names.len(),
            from.display(),
            if names.is_empty() { "none".to_string() } else { names.join(", ") },
            self.moved_to.display()
        )
    }
}

impl JsonFileProfileStore {
    pub fn new(dir: &Path) -> Self {
        JsonFileProfileStore { path: dir.join("profiles.json") }
    }
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_path(&self) -> PathBuf {
        self.path.with_file_name(".profiles.json.lock")
    }

    /// Brings the profiles of another profile file (the app's store from before the shared
    /// directory) over once: never overwriting one here (a taken name gets a suffix), then
    /// moving the old file aside. `None` when there is nothing to adopt.
    pub fn adopt(&self, old: &Path, now: crate::clock::Millis) -> Result<Option<Adopted>> {
        let text = match std::fs::read_to_string(old) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::storage(format!("cannot read {}: {e}", old.display()))),
        };
        if old == self.path {
            return Ok(None);
        }
        let doc = if text.trim().is_empty() {
            ProfileDocument::new(Vec::new())
        } else {
            ProfileDocument::from_json(&text, &old.display().to_string())?
        };
        let mut report = Adopted::default();
        self.update(&mut |all| {
            report = Adopted::default();
            for p in &doc.profiles {
                if all.iter().any(|q| q.id == p.id) {
                    continue;
                }
                let mut p = p.clone();
                if all.iter().any(|q| q.name == p.name) {
                    let old_name = p.name.clone();
                    let base: String = old_name.chars().take(58).collect();
                    p.name = (1..)
                        .map(|i| if i == 1 { format!("{base}-app") } else { format!("{base}-app{i}") })
                        .find(|n| !all.iter().any(|q| &q.name == n))
                        .unwrap_or(base);
                    report.renamed.push((old_name, p.name.clone()));
                } else {
                    report.added.push(p.name.clone());
                }
                all.push(p);
            }
            Ok(())
        })?;
        let stamp = crate::clock::rfc3339(now).replace(':', "");
        report.moved_to = old.with_file_name(format!("profiles.json.moved-to-shared-{stamp}"));
        std::fs::rename(old, &report.moved_to).map_err(|e| Error::storage(format!("cannot move {} aside: {e}", old.display())))?;
        Ok(Some(report))
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

    fn update(&self, change: &mut dyn FnMut(&mut Vec<Profile>) -> Result<()>) -> Result<()> {
        let _lock = FileLock::acquire(&self.lock_path())?;
        // Holding the lock, no other writer is between its temporary file and its rename: any
        // temporary file left beside the profiles is from a process that died; remove it.
        remove_stale_temporaries(&self.path);
        let mut all = self.load()?;
        change(&mut all)?;
        let mut text = serde_json::to_string_pretty(&ProfileDocument::new(all))
            .map_err(|e| Error::storage(format!("cannot encode the profiles: {e}")))?;
        text.push('\n');
        write_atomically(&self.path, text.as_bytes())
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

fn temporary_prefix(path: &Path) -> String {
    format!(".{}-", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
}

fn remove_stale_temporaries(path: &Path) {
    let Some(dir) = path.parent() else { return };
    let prefix = temporary_prefix(path);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) && name.ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Temporary file beside the target, fsync, rename over the target, fsync the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::storage(format!("cannot create {}: {e}", dir.display())))?;
    let fail =
        |what: &str, e: &dyn std::fmt::Display| Error::storage(format!("cannot {what} {}: {e}; the old file is unchanged", path.display()));
    let mut tmp =
        tempfile::Builder::new().prefix(&temporary_prefix(path)).suffix(".tmp").tempfile_in(dir).map_err(|e| fail("write", &e))?;
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
    fn update(&self, change: &mut dyn FnMut(&mut Vec<Profile>) -> Result<()>) -> Result<()> {
        let mut guard = self.0.lock().map_err(|_| Error::storage("profile store poisoned"))?;
        let mut all = guard.clone();
        change(&mut all)?;
        *guard = all;
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
    /// A PEM private key that signs JWT bearer assertions.
    PrivateKey,
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
            SecretKey::PrivateKey => "private_key",
            SecretKey::Token => "token",
            SecretKey::PendingAuthorization => "pending_authorization",
        }
    }
    /// A secret of the profile itself (not a token or a sign-in in progress).
    pub fn is_profile_secret(self) -> bool {
        matches!(self, SecretKey::ClientSecret | SecretKey::Password | SecretKey::SecurityToken | SecretKey::PrivateKey)
    }
    pub const ALL: [SecretKey; 6] = [
        SecretKey::ClientSecret,
        SecretKey::Password,
        SecretKey::SecurityToken,
        SecretKey::PrivateKey,
        SecretKey::Token,
        SecretKey::PendingAuthorization,
    ];
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

/// The OS keyring: the Secret Service on Linux (over one D-Bus connection, opened at the first
/// use and kept), the `keyring` crate's Keychain on macOS and Credential Manager on Windows.
/// Entries: service `oauth-desk`, user `<profile id>/<key>`, with the `keyring` crate's
/// attributes (`target` `default`, `service`, `username`) so that either finds the other's.
pub struct KeyringSecretStore {
    service: String,
    #[cfg(target_os = "linux")]
    connection: std::sync::Mutex<Option<dbus_secret_service::SecretService>>,
}

impl KeyringSecretStore {
    pub fn new(service: impl Into<String>) -> Self {
        KeyringSecretStore {
            service: service.into(),
            #[cfg(target_os = "linux")]
            connection: std::sync::Mutex::new(None),
        }
    }

    /// Opens the keyring, or says why it cannot be reached.
    pub fn open(service: impl Into<String>) -> Result<Self> {
        let store = Self::new(service);
        store.probe()?;
        Ok(store)
    }

    fn username(profile_id: &str, key: SecretKey) -> String {
        format!("{profile_id}/{}", key.as_str())
    }
}

#[cfg(target_os = "linux")]
mod secret_service {
    use super::{KeyringSecretStore, SecretKey};
    use crate::error::{Error, Result};
    use crate::secret::Secret;
    use dbus_secret_service::{EncryptionType, Item, SecretService};
    use std::collections::HashMap;

    fn failure(what: &str, e: dbus_secret_service::Error) -> Error {
        // The messages name the D-Bus failure, never the secret.
        super::storage_failure(what, &e.to_string())
    }

    impl KeyringSecretStore {
        pub(super) fn probe(&self) -> Result<()> {
            self.with("reach", |_| Ok(()))
        }

        /// Runs `f` on the process's one connection, opening it first; a connection the
        /// service dropped (it restarted) is opened once more.
        fn with<T>(&self, what: &str, f: impl Fn(&SecretService) -> Result<T, dbus_secret_service::Error>) -> Result<T> {
            let mut conn = self.connection.lock().map_err(|_| Error::storage("the keyring connection is poisoned"))?;
            for attempt in 0..2 {
                if conn.is_none() {
                    // A plain session, as go-keyring and libsecret's fallback use: the secrets
                    // cross the user's own session bus, where any process that could watch them
                    // could as well ask the Secret Service for them. The DH session's key
                    // exchange costs about 6 ms per process, most of a short command's run.
                    *conn = Some(SecretService::connect(EncryptionType::Plain).map_err(|e| failure(what, e))?);
                }
                let Some(ss) = conn.as_ref() else { continue };
                match f(ss) {
                    // The service restarted (or the bus dropped us): open a new connection once.
                    Err(dbus_secret_service::Error::Dbus(e))
                        if attempt == 0
                            && (matches!(
                                e.name(),
                                Some("org.freedesktop.DBus.Error.Disconnected" | "org.freedesktop.DBus.Error.NoReply")
                            ) || e.message().is_some_and(|m| m.to_ascii_lowercase().contains("disconnected"))) =>
                    {
                        *conn = None
                    }
                    other => return other.map_err(|e| failure(what, e)),
                }
            }
            Err(super::storage_failure(what, "the Secret Service connection closed"))
        }

        fn attributes<'a>(&'a self, username: &'a str) -> HashMap<&'a str, &'a str> {
            HashMap::from([("target", "default"), ("service", self.service.as_str()), ("username", username)])
        }

        pub(super) fn ss_get(&self, profile_id: &str, key: SecretKey) -> Result<Option<Secret>> {
            let username = Self::username(profile_id, key);
            let attrs = self.attributes(&username);
            self.with("read", |ss| {
                let Some(item) = find(ss, &attrs)? else { return Ok(None) };
                let bytes = item.get_secret()?;
                Ok(Some(String::from_utf8(bytes).map_err(|_| dbus_secret_service::Error::UnsupportedSecretFormat)?))
            })
            .map(|s| s.map(Secret::new))
        }

        pub(super) fn ss_set(&self, profile_id: &str, key: SecretKey, value: &Secret) -> Result<()> {
            let username = Self::username(profile_id, key);
            let attrs = self.attributes(&username);
            let label = format!("OAuth Desk {username}");
            self.with("write", |ss| {
                if let Some(item) = find(ss, &attrs)? {
                    return item.set_secret(value.expose().as_bytes(), "text/plain");
                }
                let collection = ss.get_default_collection()?;
                collection.ensure_unlocked()?;
                let mut all = attrs.clone();
                all.insert("application", "rust-keyring-client");
                collection.create_item(&label, all, value.expose().as_bytes(), true, "text/plain").map(|_| ())
            })
        }

        pub(super) fn ss_delete(&self, profile_id: &str, key: SecretKey) -> Result<()> {
            let username = Self::username(profile_id, key);
            let attrs = self.attributes(&username);
            self.with("delete from", |ss| {
                let found = ss.search_items(attrs.clone())?;
                for item in found.unlocked.iter().chain(found.locked.iter()) {
                    item.delete()?;
                }
                Ok(())
            })
        }
    }

    /// The item for these attributes, unlocked; items stored before `target` existed are found
    /// by service and user alone.
    fn find<'s>(ss: &'s SecretService, attrs: &HashMap<&str, &str>) -> Result<Option<Item<'s>>, dbus_secret_service::Error> {
        let mut found = ss.search_items(attrs.clone())?;
        if found.unlocked.is_empty() && found.locked.is_empty() {
            let mut legacy = attrs.clone();
            legacy.remove("target");
            found = ss.search_items(legacy)?;
        }
        if let Some(item) = found.unlocked.into_iter().next() {
            return Ok(Some(item));
        }
        match found.locked.into_iter().next() {
            Some(item) => {
                item.ensure_unlocked()?;
                Ok(Some(item))
            }
            None => Ok(None),
        }
    }
}

fn storage_failure(what: &str, detail: &str) -> Error {
    Error::storage(format!("cannot {what} the OS keyring: {detail}")).with_hint(
        "start a Secret Service (GNOME Keyring, KeePassXC) and unlock it, or pass secrets by environment variable or standard input",
    )
}

#[cfg(not(target_os = "linux"))]
impl KeyringSecretStore {
    fn probe(&self) -> Result<()> {
        match self.entry("probe", SecretKey::Token)?.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(storage_failure("reach", &e.to_string())),
        }
    }

    fn entry(&self, profile_id: &str, key: SecretKey) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, &Self::username(profile_id, key)).map_err(|e| storage_failure("address", &e.to_string()))
    }
}

impl SecretStore for KeyringSecretStore {
    #[cfg(target_os = "linux")]
    fn get(&self, profile_id: &str, key: SecretKey) -> Result<Option<Secret>> {
        self.ss_get(profile_id, key)
    }
    #[cfg(target_os = "linux")]
    fn set(&self, profile_id: &str, key: SecretKey, value: &Secret) -> Result<()> {
        self.ss_set(profile_id, key, value)
    }
    #[cfg(target_os = "linux")]
    fn delete(&self, profile_id: &str, key: SecretKey) -> Result<()> {
        self.ss_delete(profile_id, key)
    }
    #[cfg(not(target_os = "linux"))]
    fn get(&self, profile_id: &str, key: SecretKey) -> Result<Option<Secret>> {
        match self.entry(profile_id, key)?.get_password() {
            Ok(s) => Ok(Some(Secret::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(storage_failure("read", &e.to_string())),
        }
    }
    #[cfg(not(target_os = "linux"))]
    fn set(&self, profile_id: &str, key: SecretKey, value: &Secret) -> Result<()> {
        self.entry(profile_id, key)?.set_password(value.expose()).map_err(|e| storage_failure("write", &e.to_string()))
    }
    #[cfg(not(target_os = "linux"))]
    fn delete(&self, profile_id: &str, key: SecretKey) -> Result<()> {
        match self.entry(profile_id, key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(storage_failure("delete from", &e.to_string())),
        }
    }
    fn describe(&self) -> String {
        format!("OS keyring (service `{}`)", self.service)
    }
    fn is_persistent(&self) -> bool {
        true
    }
}

/// The keyring could not be reached: nothing can be read from it (reads find nothing, so
/// secrets given by environment variable still work) and nothing can be stored: every write
/// fails and says what to do, rather than keeping the secret in memory and losing it.
pub struct UnavailableSecretStore {
    reason: String,
}

impl UnavailableSecretStore {
    pub fn new(reason: &Error) -> Self {
        UnavailableSecretStore { reason: reason.message.clone() }
    }

    fn refuse(&self) -> Error {
        Error::storage(format!("no OS keyring can be reached, so the secret cannot be stored ({})", self.reason)).with_hint(
            "start a Secret Service (GNOME Keyring, KeePassXC) and unlock it; or choose --secrets memory to keep secrets and tokens for this run only; or give secrets in OAUTH_DESK_CLIENT_SECRET / OAUTH_DESK_PASSWORD / OAUTH_DESK_SECURITY_TOKEN",
        )
    }
}

impl SecretStore for UnavailableSecretStore {
    fn get(&self, _profile_id: &str, _key: SecretKey) -> Result<Option<Secret>> {
        Ok(None)
    }
    fn set(&self, _profile_id: &str, _key: SecretKey, _value: &Secret) -> Result<()> {
        Err(self.refuse())
    }
    fn delete(&self, _profile_id: &str, _key: SecretKey) -> Result<()> {
        Err(self.refuse())
    }
    fn describe(&self) -> String {
        "no OS keyring (unreachable)".into()
    }
    fn is_persistent(&self) -> bool {
        false
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
        let save = |ps: Vec<Profile>| {
            store.update(&mut |all| {
                *all = ps.clone();
                Ok(())
            })
        };
        save(vec![p.clone()]).unwrap();
        assert_eq!(store.load().unwrap(), vec![p]);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        let mut names: Vec<_> = names.into_iter().filter(|n| n != ".profiles.json.lock").collect();
        names.sort();
        assert_eq!(names, ["profiles.json"], "only the file itself remains (and its lock file)");
        let text = std::fs::read_to_string(store.path()).unwrap();
        assert!(text.contains("\"schema_version\": 1"));
    }

    #[test]
    fn concurrent_writers_lose_nothing_and_leftovers_go() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".profiles.json-deadbeef.tmp"), "half a file").unwrap();
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let path = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    let store = JsonFileProfileStore::new(&path);
                    let p = Profile::new(format!("p{i}"), "cid", Provider::default_for(ProviderKind::Oauth2));
                    store.update(&mut |all| {
                        all.push(p.clone());
                        Ok(())
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        assert_eq!(JsonFileProfileStore::new(dir.path()).load().unwrap().len(), 16, "every writer's profile survives");
        assert!(!dir.path().join(".profiles.json-deadbeef.tmp").exists(), "a dead writer's temporary file is removed");
    }

    #[test]
    fn another_file_is_adopted_once_without_overwriting() {
        let dir = tempfile::tempdir().unwrap();
        let store = JsonFileProfileStore::new(&dir.path().join("shared"));
        let mine = Profile::new("acme", "cid", Provider::default_for(ProviderKind::Salesforce));
        store
            .update(&mut |all| {
                all.push(mine.clone());
                Ok(())
            })
            .unwrap();
        let old = dir.path().join("app/profiles.json");
        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        let theirs = vec![
            Profile::new("acme", "other", Provider::default_for(ProviderKind::Salesforce)),
            Profile::new("wx", "wx1", Provider::default_for(ProviderKind::WechatWebsite)),
            mine.clone(),
        ];
        std::fs::write(&old, serde_json::to_string(&ProfileDocument::new(theirs)).unwrap()).unwrap();
        let report = store.adopt(&old, 0).unwrap().expect("something to adopt");
        assert_eq!(report.added, ["wx"]);
        assert_eq!(report.renamed, [("acme".to_string(), "acme-app".to_string())]);
        let names: Vec<String> = store.load().unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["acme", "acme-app", "wx"], "the profile here is untouched; the same id is not added twice");
        assert!(!old.exists() && report.moved_to.exists(), "the old file is moved aside, so this happens once");
        assert_eq!(store.adopt(&old, 0).unwrap(), None);
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
        store
            .update(&mut |all| {
                all.push(p.clone());
                Ok(())
            })
            .unwrap();
        let before = std::fs::read(store.path()).unwrap();
        // The target is now a directory's child that cannot be replaced: make the dir read-only.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
        let result = store.update(&mut |all| {
            all.clear();
            Ok(())
        });
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        if result.is_ok() {
            // root ignores directory permissions; the rename path is exercised by the other tests.
            return;
        }
        assert!(result.unwrap_err().message.contains("old file is unchanged"));
        assert_eq!(std::fs::read(store.path()).unwrap(), before);
    }
}
