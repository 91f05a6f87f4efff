//! The OS keyring for real: Secret Service over D-Bus (GNOME Keyring in the test session that
//! `scripts/with-keyring.sh` starts). Profiles on disk never hold a secret.

mod common;

use oauth_desk_core::storage::{JsonFileProfileStore, KeyringSecretStore, SecretKey, SecretStore};
use oauth_desk_core::{Desk, Profile, Provider, ProviderKind, Secret, SystemClock};
use oauth_desk_emulators::salesforce;
use std::sync::Arc;

fn keyring() -> KeyringSecretStore {
    KeyringSecretStore::open(format!("oauth-desk-test-{}", std::process::id())).unwrap_or_else(|e| {
        panic!("no OS keyring: {e}\nRun the tests through scripts/with-keyring.sh (or the README's test command), which starts D-Bus and an unlocked GNOME Keyring.")
    })
}

#[test]
fn set_get_delete_round_trip() {
    let k = keyring();
    let id = oauth_desk_core::profile::new_profile_id();
    assert_eq!(k.get(&id, SecretKey::ClientSecret).unwrap(), None);
    k.set(&id, SecretKey::ClientSecret, &Secret::new("s3cr3t ünïcode 密钥")).unwrap();
    assert_eq!(k.get(&id, SecretKey::ClientSecret).unwrap().unwrap().expose(), "s3cr3t ünïcode 密钥");
    assert_eq!(k.get(&id, SecretKey::Password).unwrap(), None, "keys are separate");
    k.delete(&id, SecretKey::ClientSecret).unwrap();
    assert_eq!(k.get(&id, SecretKey::ClientSecret).unwrap(), None);
    k.delete(&id, SecretKey::ClientSecret).expect("deleting twice is fine");
}

#[test]
fn secrets_stored_by_the_keyring_crate_are_found_and_the_other_way_round() {
    // OAuth Desk 0.1 stored secrets through the `keyring` crate; the store speaks to the Secret
    // Service itself now, and both must find each other's items.
    let service = format!("oauth-desk-test-{}-compat", std::process::id());
    let k = KeyringSecretStore::open(service.clone()).unwrap();
    let id = oauth_desk_core::profile::new_profile_id();
    keyring::Entry::new(&service, &format!("{id}/client_secret")).unwrap().set_password("from the keyring crate").unwrap();
    assert_eq!(k.get(&id, SecretKey::ClientSecret).unwrap().unwrap().expose(), "from the keyring crate");
    k.set(&id, SecretKey::ClientSecret, &Secret::new("replaced")).unwrap();
    assert_eq!(
        keyring::Entry::new(&service, &format!("{id}/client_secret")).unwrap().get_password().unwrap(),
        "replaced",
        "updated in place"
    );
    k.set(&id, SecretKey::Password, &Secret::new("new item")).unwrap();
    assert_eq!(keyring::Entry::new(&service, &format!("{id}/password")).unwrap().get_password().unwrap(), "new item");
    k.delete(&id, SecretKey::ClientSecret).unwrap();
    k.delete(&id, SecretKey::Password).unwrap();
    assert!(matches!(keyring::Entry::new(&service, &format!("{id}/password")).unwrap().get_password(), Err(keyring::Error::NoEntry)));
}

#[tokio::test]
async fn tokens_survive_a_restart_and_never_touch_the_profile_file() {
    let (_em, srv) = salesforce::start(salesforce::Config::default(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let service = format!("oauth-desk-test-{}-restart", std::process::id());
    let open = || {
        Desk::new(
            Box::new(JsonFileProfileStore::new(dir.path())),
            Arc::new(KeyringSecretStore::open(service.clone()).expect("keyring")),
            common::transport(),
            Arc::new(SystemClock),
        )
    };
    let desk = open();
    let mut p = common::salesforce_profile(&srv.base_url());
    p.name = "acme".into();
    desk.save(&p).unwrap();
    let secrets = common::salesforce_secrets();
    desk.set_secret(&p, SecretKey::ClientSecret, secrets.client_secret.as_ref()).unwrap();
    desk.set_secret(&p, SecretKey::Password, secrets.password.as_ref()).unwrap();
    desk.set_secret(&p, SecretKey::SecurityToken, secrets.security_token.as_ref()).unwrap();
    let token = desk.session(&p).unwrap().grant_password(Default::default()).await.unwrap();
    drop(desk);

    let desk = open(); // "restart"
    let p = desk.find("acme").unwrap();
    let stored = desk.stored_token(&p).unwrap().expect("token from the keyring");
    assert_eq!(stored.access_token, token.access_token);
    let session = desk.session(&p).unwrap();
    let info = session.userinfo(None).await.unwrap();
    assert_eq!(info["email"], "ada@example.com");

    let file = std::fs::read_to_string(dir.path().join("profiles.json")).unwrap();
    for secret in [secrets.client_secret.unwrap(), secrets.password.unwrap(), secrets.security_token.unwrap(), token.access_token] {
        assert!(!file.contains(secret.expose()), "a secret reached profiles.json");
    }
    desk.remove("acme").unwrap();
    assert!(desk.stored_token(&p).unwrap().is_none(), "removing a profile removes its secrets");
    assert!(!desk.has_secret(&p, SecretKey::ClientSecret).unwrap());
}

#[test]
fn names_are_unique_and_export_has_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let desk = Desk::new(Box::new(JsonFileProfileStore::new(dir.path())), Arc::new(keyring()), common::transport(), Arc::new(SystemClock));
    let mut a = Profile::new("a", "id-a", Provider::default_for(ProviderKind::Salesforce));
    a.redirect_uri = Some("https://app.example.com/cb".into());
    desk.save(&a).unwrap();
    desk.set_secret(&a, SecretKey::ClientSecret, Some(&Secret::new("hidden-secret"))).unwrap();
    let dup = Profile::new("a", "id-b", Provider::default_for(ProviderKind::Salesforce));
    assert!(desk.save(&dup).unwrap_err().message.contains("already exists"));
    desk.duplicate("a", "b").unwrap();
    let doc = desk.export(&[]).unwrap();
    let text = serde_json::to_string(&doc).unwrap();
    assert!(!text.contains("hidden-secret"));
    assert!(doc.profiles.iter().all(|p| p.id.is_empty()), "export drops ids");
    assert!(desk.import(doc.clone(), false).unwrap_err().message.contains("already exists"));
    assert_eq!(desk.import(doc, true).unwrap(), ["a", "b"]);
    assert_eq!(desk.list().unwrap().len(), 2);
    desk.remove("a").unwrap();
    desk.remove("b").unwrap();
}

/// GNOME Keyring aborts when a caller's first message is `OpenSession` and is dispatched before
/// the daemon registered the caller (vendor/dbus-secret-service/PATCHED.md); a burst of CLI
/// processes did that in about one run in thirty. Every connection, ours and the keyring
/// crate's, must ask for a property first. A bus monitor shows each caller's first call.
#[test]
fn every_secret_service_connection_reads_a_property_before_it_opens_a_session() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    let mut monitor = Command::new("dbus-monitor")
        .args(["--session", "type='method_call',destination='org.freedesktop.secrets'"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-monitor (package dbus-bin) runs in the test's D-Bus session");
    let seen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let seen = seen.clone();
        let stdout = monitor.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                let mut s = seen.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        })
    };
    // A marker call the monitor must show, so nothing is missed before it listens or after.
    let marker = |tag: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let _ = Command::new("dbus-send")
                .args([
                    "--session",
                    "--type=method_call",
                    "--dest=org.freedesktop.secrets",
                    &format!("/marker/{tag}"),
                    "org.freedesktop.DBus.Peer.Ping",
                ])
                .status();
            if seen.lock().unwrap().contains(&format!("path=/marker/{tag};")) {
                return;
            }
            assert!(Instant::now() < deadline, "dbus-monitor never showed the marker call");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    marker("start");

    let id = oauth_desk_core::profile::new_profile_id();
    let service = format!("oauth-desk-test-{}-first-call", std::process::id());
    let k = KeyringSecretStore::open(service.clone()).unwrap();
    k.set(&id, SecretKey::Token, &Secret::new("t")).unwrap();
    assert!(KeyringSecretStore::open(service.clone()).unwrap().get(&id, SecretKey::Token).unwrap().is_some());
    assert_eq!(keyring::Entry::new(&service, &format!("{id}/token")).unwrap().get_password().unwrap(), "t");
    k.delete(&id, SecretKey::Token).unwrap();

    marker("end");
    monitor.kill().unwrap();
    monitor.wait().unwrap();
    reader.join().unwrap();

    // Each caller's calls in order: "interface.member".
    let log = seen.lock().unwrap().clone();
    let mut calls: Vec<(String, Vec<String>)> = Vec::new();
    for line in log.lines().filter(|l| l.starts_with("method call ")) {
        let field = |name: &str| line.split([' ', ';']).find_map(|f| f.strip_prefix(name)).unwrap_or_default().to_string();
        let call = format!("{}.{}", field("interface="), field("member="));
        match calls.iter_mut().find(|(sender, _)| *sender == field("sender=")) {
            Some((_, list)) => list.push(call),
            None => calls.push((field("sender="), vec![call])),
        }
    }
    // Only callers that connected after the first marker (unique names count up) were seen
    // from their first call; other tests in this binary may have connected before.
    let number = |sender: &str| sender.rsplit('.').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    let start = log
        .lines()
        .find(|l| l.contains("path=/marker/start;"))
        .map(|l| number(l.split(' ').find_map(|f| f.strip_prefix("sender=")).unwrap_or_default()));
    let start = start.expect("the start marker is in the log");
    let sessions: Vec<_> =
        calls.iter().filter(|(sender, list)| number(sender) > start && list.iter().any(|c| c.ends_with(".OpenSession"))).collect();
    assert!(sessions.len() >= 3, "two stores and the keyring crate each open a session: {calls:?}");
    for (sender, list) in sessions {
        assert_eq!(list[0], "org.freedesktop.DBus.Properties.Get", "{sender}'s first call to the Secret Service: {list:?}");
    }
}
