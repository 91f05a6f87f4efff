//! The wire log: every exchange of every provider's grants and calls is recorded, and no real
//! secret value reaches a view, a copied command or a HAR export unless "include secrets" is
//! chosen. Copied commands are run for real against the Salesforce emulator.

mod common;

use common::*;
use futures::StreamExt;
use oauth_desk_core::clock::SystemClock;
use oauth_desk_core::profile::{ClientAuth, Oauth2Config, WechatScope};
use oauth_desk_core::providers::salesforce::{QueryOptions, SalesforceApi};
use oauth_desk_core::providers::wechat::WechatApi;
use oauth_desk_core::testing::{json, MockTransport};
use oauth_desk_core::transport::{Purpose, RawResponse, Request};
use oauth_desk_core::wire::{export, Redactor, Reveal, WireLog};
use oauth_desk_core::{providers, Grant, PasswordCredentials, Profile, ProfileSecrets, Provider, Secret, Session, WhichToken};
use std::sync::Arc;
use url::Url;

const CLIENT_SECRET: &str = "CLIENT-SECRET-d41d8cd98f";
const PASSWORD: &str = "pässw0rd&=+ 1";
const SECURITY_TOKEN: &str = "SECTOKEN-5e6f7a";
const CODE: &str = "aPrxCODEb0dCw3Xz==";
const ACCESS: &str = "00Dxx!ACCESS.token/1+x";
const ACCESS2: &str = "00Dxx!ACCESS.token/2+y";
const REFRESH: &str = "5Aep861REFRESH.tok";
const ID_TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEifQ.sig";

/// Every secret value, and the forms it takes on the wire (percent- and form-encoded).
fn secret_forms() -> Vec<String> {
    let mut out = Vec::new();
    for s in [CLIENT_SECRET, PASSWORD, SECURITY_TOKEN, CODE, ACCESS, ACCESS2, REFRESH, ID_TOKEN, &format!("{PASSWORD}{SECURITY_TOKEN}")] {
        out.push(s.to_string());
        out.push(url::form_urlencoded::byte_serialize(s.as_bytes()).collect());
        out.push(percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string());
    }
    out
}

fn secrets() -> ProfileSecrets {
    ProfileSecrets {
        client_secret: Some(Secret::new(CLIENT_SECRET)),
        password: Some(Secret::new(PASSWORD)),
        security_token: Some(Secret::new(SECURITY_TOKEN)),
        private_key: None,
        client_assertion: None,
    }
}

/// A mock server speaking each provider's dialect, issuing ACCESS then ACCESS2.
fn server(request: &Request) -> oauth_desk_core::Result<RawResponse> {
    let url = request.uri().to_string();
    let path = url.split('?').next().unwrap_or("").to_string();
    let issued = |n: u32| {
        json(
            200,
            &format!(
                r#"{{"access_token":"{}","refresh_token":"{REFRESH}","id_token":"{ID_TOKEN}","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00D/005","token_type":"Bearer","issued_at":"1","signature":"x","expires_in":3600,"openid":"oOPENID","scope":"openid"}}"#,
                if n == 1 { ACCESS } else { ACCESS2 }
            ),
        )
    };
    let body = String::from_utf8_lossy(request.body()).into_owned();
    Ok(if path.ends_with("/.well-known/openid-configuration") {
        json(
            200,
            r#"{"issuer":"https://idp.example","authorization_endpoint":"https://idp.example/authorize","token_endpoint":"https://idp.example/token","userinfo_endpoint":"https://idp.example/userinfo","revocation_endpoint":"https://idp.example/revoke","introspection_endpoint":"https://idp.example/introspect"}"#,
        )
    } else if path.ends_with("/token") || path.ends_with("/sns/oauth2/access_token") || path.ends_with("/sns/oauth2/refresh_token") {
        issued(if body.contains("refresh_token") || path.ends_with("refresh_token") { 2 } else { 1 })
    } else if path.ends_with("/revoke") {
        RawResponse::new(200, "text/plain", "", &path)
    } else if path.ends_with("/introspect") {
        json(200, &format!(r#"{{"active":true,"token":"{ACCESS}"}}"#))
    } else if path.contains("/query") {
        json(200, r#"{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Account"},"Id":"001"}]}"#)
    } else if path.ends_with("/sns/auth") {
        RawResponse::new(200, "text/plain", r#"{"errcode":0,"errmsg":"ok"}"#, &path)
    } else {
        json(200, r#"{"sub":"ada","email":"ada@example.com"}"#)
    })
}

fn session_for(provider: Provider, redirect: &str) -> (Session, Arc<MockTransport>) {
    let mut p = Profile::new("p", "client-1", provider);
    p.redirect_uri = Some(redirect.into());
    p.username = Some("ada@example.com".into());
    let transport = Arc::new(MockTransport::new(server));
    (providers::session(p, secrets(), transport.clone(), Arc::new(SystemClock)), transport)
}

async fn code_flow(s: &Session) {
    let pending = s.authorize(None).await.unwrap();
    let mut redirect = Url::parse(&pending.redirect_uri).unwrap();
    redirect.query_pairs_mut().append_pair("code", CODE).append_pair("state", &pending.state);
    s.log().record_navigation(&pending.authorize_url, false);
    s.log().record_navigation(redirect.as_str(), true);
    s.complete_redirect(&pending, &redirect).await.unwrap();
}

/// Renders every exchange every way and checks the secrets: absent unless revealed.
fn check(log: &WireLog) -> usize {
    let r: Redactor = log.redactor();
    let forms = secret_forms();
    let exchanges = log.exchanges();
    assert!(!exchanges.is_empty());
    let mut outputs: Vec<(String, String)> = vec![
        ("summaries".into(), serde_json::to_string(&log.summaries()).unwrap()),
        ("har".into(), export::har(&exchanges, &r, Reveal::Masked).to_string()),
    ];
    for e in &exchanges {
        outputs.push((format!("detail {}", e.id), serde_json::to_string(&log.detail(e.id).unwrap()).unwrap()));
        outputs.push((format!("curl {}", e.id), export::curl(e, &r, Reveal::Placeholders)));
        outputs.push((format!("python {}", e.id), export::python(e, &r, Reveal::Placeholders)));
        outputs.push((format!("curl masked {}", e.id), export::curl(e, &r, Reveal::Masked)));
        outputs.push((format!("trace {}", e.id), export::http_text(e, &r, Reveal::Masked, 100_000)));
    }
    for (what, text) in &outputs {
        for f in &forms {
            assert!(!text.contains(f.as_str()), "{what} contains the secret `{f}`:\n{text}");
        }
    }
    exchanges.len()
}

#[tokio::test]
async fn salesforce_every_grant_and_call_is_recorded_and_masked() {
    let (s, transport) = session_for(Provider::Salesforce(Default::default()), "https://app.example.com/oauth/callback");
    code_flow(&s).await;
    s.refresh().await.unwrap();
    s.grant_password(PasswordCredentials::default()).await.unwrap();
    let api = SalesforceApi::of(&s).unwrap();
    api.identity().await.unwrap();
    api.userinfo().await.unwrap();
    let pages: Vec<_> = SalesforceApi::of(&s).unwrap().query("SELECT Id FROM Account", QueryOptions::default()).collect().await;
    assert_eq!(pages.len(), 1);
    s.introspect(WhichToken::Access).await.unwrap();
    s.revoke(WhichToken::Refresh).await.unwrap();

    let purposes: Vec<(Purpose, Option<Grant>)> = s.log().exchanges().iter().map(|e| (e.purpose, e.grant)).collect();
    assert_eq!(
        purposes,
        [
            (Purpose::Navigation, None),
            (Purpose::Redirect, None),
            (Purpose::Token, Some(Grant::AuthorizationCode)),
            // The org's keys (/id/keys), fetched once to verify the ID token.
            (Purpose::Discovery, None),
            (Purpose::Token, Some(Grant::RefreshToken)),
            (Purpose::Token, Some(Grant::Password)),
            (Purpose::Api, None),
            (Purpose::Userinfo, None),
            (Purpose::QueryPage, None),
            (Purpose::Introspection, None),
            (Purpose::Revocation, None),
        ],
        "every exchange, in order, with its purpose"
    );
    assert_eq!(transport.requests().len(), 9, "navigations are recorded, never sent");
    assert_eq!(check(s.log()), 11);

    // With "include secrets" the copied command carries them, so it can run as it is.
    let log = s.log();
    let password_grant = &log.exchanges()[5];
    let with = export::curl(password_grant, &log.redactor(), Reveal::Secrets);
    assert!(with.contains(CLIENT_SECRET) && with.contains(&format!("{PASSWORD}{SECURITY_TOKEN}")), "{with}");
    let placeholders = export::curl(password_grant, &log.redactor(), Reveal::Placeholders);
    assert!(placeholders.starts_with("# Reads CLIENT_SECRET, PASSWORD from the environment."), "{placeholders}");
    assert!(placeholders.contains(r#"--data-urlencode "client_secret=${CLIENT_SECRET}""#), "{placeholders}");
    let har = export::har(&log.exchanges(), &log.redactor(), Reveal::Secrets).to_string();
    assert!(har.contains(CLIENT_SECRET) && har.contains(REFRESH), "a HAR with secrets has them");
}

#[tokio::test]
async fn standard_oidc_with_basic_and_body_authentication() {
    for auth in [ClientAuth::Basic, ClientAuth::Body] {
        let provider = Provider::Oauth2(Oauth2Config {
            issuer: Some("https://idp.example".into()),
            client_auth: auth,
            scopes: vec!["openid".into(), "offline_access".into()],
            pkce: true,
            ..Default::default()
        });
        let (s, _) = session_for(provider, "https://app.example.com/cb");
        code_flow(&s).await;
        s.refresh().await.unwrap();
        s.grant_client_credentials().await.unwrap();
        s.grant_password(PasswordCredentials::default()).await.unwrap();
        s.userinfo(None).await.unwrap();
        oauth_desk_core::request::send(
            &s,
            &oauth_desk_core::request::ApiRequest {
                method: "GET".into(),
                url: "https://idp.example/me?access_token=x".into(),
                headers: vec![],
                body: None,
            },
        )
        .await
        .unwrap();
        s.introspect(WhichToken::Refresh).await.unwrap();
        s.revoke(WhichToken::Access).await.unwrap();
        let first = &s.log().exchanges()[0];
        assert_eq!(first.purpose, Purpose::Discovery, "discovery is recorded");
        let n = check(s.log());
        assert_eq!(n, 11, "{auth:?}");
        let verifier_sent = s
            .log()
            .exchanges()
            .iter()
            .any(|e| e.request_body.as_ref().is_some_and(|b| String::from_utf8_lossy(&b.data).contains("code_verifier=")));
        assert!(verifier_sent, "the PKCE verifier was sent, and masked in every view above");
    }
}

#[tokio::test]
async fn wechat_query_string_secrets_are_masked() {
    let (s, transport) = session_for(
        Provider::WechatOfficialAccount(oauth_desk_core::profile::WechatOfficialAccountConfig {
            scope: WechatScope::Userinfo,
            lang: "en".into(),
            endpoints: wechat_endpoints("https://api.weixin.qq.com"),
        }),
        "https://wx.example.com/cb",
    );
    code_flow(&s).await;
    s.refresh().await.unwrap();
    WechatApi::of(&s).unwrap().userinfo(None).await.unwrap();
    WechatApi::of(&s).unwrap().check().await.unwrap();
    let sent = transport.requests();
    assert!(sent[0].uri().to_string().contains(&format!("secret={CLIENT_SECRET}")), "WeChat sends the secret in the query");
    assert_eq!(check(s.log()), 6);
    let exchange = &s.log().exchanges()[2];
    let detail = s.log().detail(exchange.id).unwrap();
    assert!(detail.query.contains(&("secret".to_string(), "[masked:client_secret]".to_string())), "{:?}", detail.query);
    let py = export::python(exchange, &s.log().redactor(), Reveal::Placeholders);
    assert!(py.contains(r#"("secret", os.environ["CLIENT_SECRET"])"#), "{py}");
}

/// The copied curl and Python commands, run for real against the emulator with the secrets in
/// the environment, get a token.
#[tokio::test]
async fn copied_commands_run() {
    let (_em, srv) = salesforce(oauth_desk_emulators::salesforce::Config::default()).await;
    let session = sf_session(&srv.base_url(), system());
    session.grant_password(PasswordCredentials::default()).await.unwrap();
    let log = session.log();
    let exchange = log.exchanges().into_iter().find(|e| e.grant == Some(Grant::Password)).expect("the password grant");
    let c = salesforce_secrets();
    let env = [
        ("CLIENT_SECRET", c.client_secret.unwrap().expose().to_string()),
        ("PASSWORD", format!("{}{}", c.password.unwrap().expose(), c.security_token.unwrap().expose())),
    ];
    let curl = export::curl(&exchange, &log.redactor(), Reveal::Placeholders);
    let python = export::python(&exchange, &log.redactor(), Reveal::Placeholders);
    for (tool, program) in [("sh", curl), ("python3", python)] {
        let out = tokio::process::Command::new(tool)
            .arg("-c")
            .arg(&program)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .await
            .unwrap_or_else(|e| panic!("{tool} runs: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("\"access_token\""),
            "{tool} failed:\n{program}\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
