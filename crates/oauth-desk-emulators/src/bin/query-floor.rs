//! The benchmark's floor: the least any client must do to page through a SOQL query. One
//! keep-alive connection, each page read whole and dropped; the next page's URL found by a byte
//! search in the page's head (Salesforce sends `nextRecordsUrl` before `records`); nothing
//! parsed, nothing written. Prints `{"pages", "bytes", "ms"}`.
//!
//!   query-floor INSTANCE_URL ACCESS_TOKEN SOQL [BATCH_SIZE]

use std::time::Instant;

fn next_url(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"nextRecordsUrl\":\"";
    let head = &body[..body.len().min(1024)];
    let start = head.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = head[start..].iter().position(|b| *b == b'"')?;
    String::from_utf8(head[start..start + len].to_vec()).ok()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [instance, token, soql, rest @ ..] = args.as_slice() else {
        return Err("usage: query-floor INSTANCE_URL ACCESS_TOKEN SOQL [BATCH_SIZE]".into());
    };
    let batch = rest.first().map(String::as_str).unwrap_or("2000");
    let client = reqwest::Client::builder().pool_max_idle_per_host(1).build()?;
    let started = Instant::now();
    let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
    let mut url = format!("{instance}/services/data/v62.0/query?q={q}");
    let (mut pages, mut bytes) = (0u64, 0u64);
    loop {
        let response = client
            .get(&url)
            .bearer_auth(token)
            .header("Sforce-Query-Options", format!("batchSize={batch}"))
            .send()
            .await?
            .error_for_status()?;
        let body = response.bytes().await?;
        pages += 1;
        bytes += body.len() as u64;
        match next_url(&body) {
            Some(next) => url = format!("{instance}{next}"),
            None => break,
        }
    }
    println!("{{\"pages\":{pages},\"bytes\":{bytes},\"ms\":{:.1}}}", started.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}
