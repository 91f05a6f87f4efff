//! `oauth-desk query`: SOQL pages streamed to a table, CSV, JSON or NDJSON as they arrive.
//!
//! Rows are written page by page and never held beyond the current page (except for the table,
//! which must measure its columns). With `--out`, the file appears only when the query finished:
//! rows go to a temporary file beside it, renamed into place at the end, so a failed or cancelled
//! query never leaves half a file behind.

use clap::{Args, ValueEnum};
use futures::StreamExt;
use oauth_desk_core::providers::salesforce::bulk::{bulk_unsupported, BulkChunk, BulkDownload};
use oauth_desk_core::providers::salesforce::{QueryOptions, RawPage, SalesforceApi};
use oauth_desk_core::soql::{self, QueryColumns, RowError, RowPlan};
use oauth_desk_core::{Desk, Error, Result};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
}

/// Which Salesforce API runs the query.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// The REST API's query resource, page after page.
    Rest,
    /// A Bulk API 2.0 query job, its CSV results downloaded in parallel (CSV output only).
    Bulk,
    /// REST, switching to Bulk API 2.0 when the first page says the query returns more than
    /// --bulk-threshold rows, the rest would take REST longer than --bulk-after seconds at the
    /// first page's pace, and Bulk can run it (CSV output, no --max-rows).
    Auto,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The Salesforce profile.
    pub name: String,
    /// The SOQL query; `-` reads it from standard input.
    pub soql: String,
    /// Include deleted and archived rows (queryAll).
    #[arg(long)]
    pub all: bool,
    /// Rows per page, 200 to 2000 (Sforce-Query-Options: batchSize).
    #[arg(long)]
    pub batch_size: Option<u32>,
    /// Output format. CSV and table flatten relationships into columns such as Owner.Name.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file (created only when the query completes).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Stop after this many rows; no further page is fetched.
    #[arg(long)]
    pub max_rows: Option<u64>,
    /// CSV: start with a UTF-8 byte-order mark, so Excel reads non-ASCII text (Chinese) right.
    #[arg(long)]
    pub bom: bool,
    /// CSV: prefix text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
    /// carriage return) with `'`. Raw values by default.
    #[arg(long)]
    pub guard_formulas: bool,
    /// Never print progress.
    #[arg(long)]
    pub quiet: bool,
    /// The API that runs the query.
    #[arg(long, value_enum, default_value_t = Api::Auto)]
    pub api: Api,
    /// With --api auto: the row count above which the query may run as a Bulk API 2.0 job.
    #[arg(long, default_value_t = 50_000, value_name = "ROWS")]
    pub bulk_threshold: u64,
    /// With --api auto: switch to Bulk API 2.0 only when REST would need longer than this for the
    /// remaining pages, at the first page's pace (a Bulk job costs seconds of processing; on a
    /// fast link REST is quicker).
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    pub bulk_after: f64,
    /// Bulk API 2.0: result downloads at once (API 58.0 and later; 1 downloads one by one).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub bulk_parallel: u8,
}

/// Rows a table shows at most: it must hold every row to size its columns. Past this, the
/// query stops and says to use another format.
pub const TABLE_ROWS: u64 = 10_000;

enum Sink {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File(std::io::BufWriter<tempfile::NamedTempFile>, PathBuf),
    /// Not a regular file (`/dev/null`, a FIFO, a terminal): written in place.
    Device(std::io::BufWriter<std::fs::File>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Stdout(w) => w.write(buf),
            Sink::File(w, _) => w.write(buf),
            Sink::Device(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            Sink::File(w, _) => w.flush(),
            Sink::Device(w) => w.flush(),
        }
    }
}

impl Sink {
    fn open(out: &Option<PathBuf>) -> Result<Sink> {
        match out {
            None => Ok(Sink::Stdout(std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout()))),
            // `/dev/null`, a FIFO: renaming a temporary file over it would replace it (as root,
            // even /dev/null) with a regular file. Write to it in place.
            Some(path) if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) => {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| Error::invalid_input(format!("cannot write to {}: {e}", path.display())))?;
                Ok(Sink::Device(std::io::BufWriter::with_capacity(256 * 1024, f)))
            }
            Some(path) => {
                let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
                let tmp = tempfile::Builder::new()
                    .prefix(".oauth-desk-query-")
                    .tempfile_in(dir)
                    .map_err(|e| Error::invalid_input(format!("cannot write in {}: {e}", dir.display())))?;
                Ok(Sink::File(std::io::BufWriter::with_capacity(256 * 1024, tmp), path.clone()))
            }
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Stdout(mut w) => w.flush().map_err(io_error),
            Sink::Device(mut w) => w.flush().map_err(io_error),
            Sink::File(w, path) => {
                let tmp = w.into_inner().map_err(|e| io_error(e.into_error()))?;
                tmp.as_file().sync_all().map_err(io_error)?;
                tmp.persist(&path).map_err(|e| Error::invalid_input(format!("cannot create {}: {}", path.display(), e.error)))?;
                Ok(())
            }
        }
    }
}

/// A record as JSON; on a terminal with control characters (beyond what JSON escapes) escaped.
fn write_json(sink: &mut Sink, value: &serde_json::Value, tty: bool) -> Result<()> {
    if tty {
        let text = crate::output::json_for_terminal(value, false)?;
        sink.write_all(text.as_bytes()).map_err(io_error)
    } else {
        serde_json::to_writer(sink, value).map_err(|e| Error::unexpected(e.to_string()))
    }
}

fn io_error(e: std::io::Error) -> Error {
    Error::invalid_input(format!("cannot write the results: {e}"))
}

struct Progress {
    started: Instant,
    last: Option<Instant>,
    tty: bool,
    enabled: bool,
}

impl Progress {
    fn update(&mut self, rows: u64, total: u64, pages: u64) {
        if !self.enabled || self.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        if self.last.is_some_and(|l| l.elapsed() < Duration::from_millis(if self.tty { 200 } else { 2000 })) {
            return;
        }
        self.last = Some(Instant::now());
        let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let line = format!("fetched {rows} of {total} rows, {pages} pages, {rate:.0} rows/s");
        if self.tty {
            eprint!("\r{line}   ");
        } else {
            eprintln!("{line}");
        }
    }
    fn done(&self) {
        if self.enabled && self.tty && self.last.is_some() {
            eprintln!();
        }
    }
}

/// Where the rows go, whichever API fetches them: the sink, the CSV writer (one page's worth of
/// bytes at a time), the table's rows, counters and progress.
struct Output<'a> {
    args: &'a QueryArgs,
    sink: Sink,
    progress: Progress,
    columns: QueryColumns,
    csv_writer: Option<csv::Writer<Vec<u8>>>,
    table_rows: Vec<Vec<String>>,
    rows: u64,
    pages: u64,
    total: u64,
    limit: u64,
    tty: bool,
    stopped_early: bool,
    /// The API that ran the query.
    ran: Ran,
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum Ran {
    Rest,
    Bulk,
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    quoted_writer(Vec::new())
}

/// Every field quoted, as Bulk API 2.0 writes its results: REST and Bulk give the same bytes.
fn quoted_writer(buf: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().quote_style(csv::QuoteStyle::Always).from_writer(buf)
}

fn csv_error(e: csv::Error) -> Error {
    Error::unexpected(format!("cannot write CSV: {e}"))
}

impl<'a> Output<'a> {
    fn open(args: &'a QueryArgs, soql_text: &str) -> Result<Self> {
        let limit = match (args.max_rows, args.format) {
            (m, Format::Table) => m.unwrap_or(u64::MAX).min(TABLE_ROWS),
            (m, _) => m.unwrap_or(u64::MAX),
        };
        let mut out = Output {
            args,
            sink: Sink::open(&args.out)?,
            progress: Progress { started: Instant::now(), last: None, tty: std::io::stderr().is_terminal(), enabled: !args.quiet },
            columns: QueryColumns::for_query(soql_text),
            csv_writer: None,
            table_rows: Vec::new(),
            rows: 0,
            pages: 0,
            total: 0,
            limit,
            tty: args.out.is_none() && std::io::stdout().is_terminal(),
            stopped_early: false,
            ran: Ran::Rest,
        };
        if args.format == Format::Json {
            out.write(b"[")?;
        }
        if args.format == Format::Csv && args.bom {
            out.write("\u{feff}".as_bytes())?;
        }
        Ok(out)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.sink.write_all(bytes).map_err(io_error)
    }

    /// One REST page: its records in the chosen format. `false` once --max-rows is reached.
    fn rest_page(&mut self, page: &oauth_desk_core::providers::salesforce::SoqlPage) -> Result<bool> {
        self.pages += 1;
        self.total = page.total_size;
        if !self.columns.is_resolved() {
            self.columns.resolve(page.records.first());
            if self.args.format == Format::Csv {
                let mut w = csv_writer();
                w.write_record(self.columns.labels()).map_err(csv_error)?;
                self.csv_writer = Some(w);
            }
        }
        let (format, tty, guard) = (self.args.format, self.tty, self.args.guard_formulas);
        for record in &page.records {
            if self.rows >= self.limit {
                self.stopped_early = true;
                self.flush_csv()?;
                return Ok(false);
            }
            self.rows += 1;
            match format {
                Format::Csv => {
                    if let Some(w) = self.csv_writer.as_mut() {
                        for cell in self.columns.spreadsheet_cells(record, guard) {
                            // On a terminal, a server's control characters are shown, not obeyed.
                            let cell = if tty { std::borrow::Cow::Owned(oauth_desk_core::error::printable(&cell)) } else { cell };
                            w.write_field(cell.as_bytes()).map_err(csv_error)?;
                        }
                        w.write_record(None::<&[u8]>).map_err(csv_error)?;
                    }
                }
                Format::Json => {
                    if self.rows > 1 {
                        self.write(b",")?;
                    }
                    self.write(b"\n  ")?;
                    write_json(&mut self.sink, &soql::strip_attributes(record), tty)?;
                }
                Format::Ndjson => {
                    write_json(&mut self.sink, &soql::strip_attributes(record), tty)?;
                    self.write(b"\n")?;
                }
                Format::Table => {
                    let row = self.columns.cells(record).map(|c| oauth_desk_core::error::printable(&c)).collect();
                    self.table_rows.push(row);
                }
            }
        }
        self.flush_csv()?;
        self.progress.update(self.rows, self.total, self.pages);
        Ok(true)
    }

    /// Hands the page's CSV to the sink, so memory holds one page at most.
    fn flush_csv(&mut self) -> Result<()> {
        if let Some(w) = self.csv_writer.take() {
            let mut buf = w.into_inner().map_err(|e| Error::unexpected(e.to_string()))?;
            self.write(&buf)?;
            buf.clear();
            self.csv_writer = Some(quoted_writer(buf));
        }
        Ok(())
    }

    /// One REST page already made into CSV. `false` once --max-rows is reached.
    fn csv_page(&mut self, page: &CsvPage, total: u64) -> Result<bool> {
        self.pages += 1;
        self.total = total;
        self.rows += page.rows;
        self.write(&page.csv)?;
        self.progress.update(self.rows, self.total, self.pages);
        if page.stopped {
            self.stopped_early = true;
        }
        Ok(!page.stopped)
    }

    /// One Bulk API 2.0 results download. Copied straight to the output when nothing needs
    /// changing (CSV to a file or pipe, no --guard-formulas); else read and written cell by cell.
    fn bulk_chunk(&mut self, chunk: &BulkChunk) -> Result<()> {
        self.pages += 1;
        let first = !self.columns.is_resolved();
        if first {
            let labels: Vec<String> = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(chunk.header())
                .records()
                .next()
                .transpose()
                .map_err(|e| Error::unexpected(format!("the Bulk API results' header is not CSV ({e})")))?
                .map(|r| r.iter().map(str::to_string).collect())
                .unwrap_or_default();
            self.columns = QueryColumns::with_labels(labels);
        } else if !header_matches(self.columns.labels(), chunk.header()) {
            return Err(Error::unexpected("a Bulk API results download has other columns than the first; the query was stopped"));
        }
        let rows = chunk.rows();
        if !self.tty && !self.args.guard_formulas {
            if first {
                self.write(&chunk.csv)?;
            } else {
                self.write(&rows)?;
            }
            let n = chunk.records.unwrap_or_else(|| count_csv_records(&rows));
            self.rows += n;
        } else {
            let mut w = csv_writer();
            if first {
                w.write_record(self.columns.labels()).map_err(csv_error)?;
            }
            let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&rows[..]);
            let mut record = csv::ByteRecord::new();
            while reader.read_byte_record(&mut record).map_err(|e| Error::unexpected(format!("the Bulk API results are not CSV ({e})")))? {
                self.rows += 1;
                for field in record.iter() {
                    let text = String::from_utf8_lossy(field);
                    let text = if self.args.guard_formulas && soql::formula_like(&text) { format!("'{text}") } else { text.into_owned() };
                    let text = if self.tty { oauth_desk_core::error::printable(&text) } else { text };
                    w.write_field(text.as_bytes()).map_err(csv_error)?;
                }
                w.write_record(None::<&[u8]>).map_err(csv_error)?;
            }
            let buf = w.into_inner().map_err(|e| Error::unexpected(e.to_string()))?;
            self.write(&buf)?;
        }
        self.progress.update(self.rows, self.total, self.pages);
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.progress.done();
        let csv_started = self.csv_writer.is_some();
        self.flush_csv()?;
        match self.args.format {
            Format::Json => {
                let end: &[u8] = if self.rows > 0 { b"\n]\n" } else { b"]\n" };
                self.write(end)?
            }
            Format::Table if self.rows > 0 => {
                let mut t = crate::output::table(&self.columns.labels().iter().map(String::as_str).collect::<Vec<_>>());
                for r in std::mem::take(&mut self.table_rows) {
                    t.add_row(r);
                }
                writeln!(self.sink, "{t}").map_err(io_error)?;
            }
            // No page came: still write the header when the select list gives one.
            Format::Csv if !csv_started && self.ran == Ran::Rest && !self.columns.labels().is_empty() => {
                let mut w = csv_writer();
                w.write_record(self.columns.labels()).map_err(csv_error)?;
                let buf = w.into_inner().map_err(|e| Error::unexpected(e.to_string()))?;
                self.write(&buf)?;
            }
            _ => {}
        }
        self.sink.finish()?;
        let args = self.args;
        if !args.quiet {
            let extra = match (self.stopped_early, args.format) {
                (true, Format::Table) if args.max_rows.is_none_or(|m| m > TABLE_ROWS) => {
                    " (a table shows the first 10000: use --format csv, json or ndjson, or --out, for every row)"
                }
                (true, _) => " (stopped early at --max-rows)",
                (false, _) => "",
            };
            let secs = self.progress.started.elapsed().as_secs_f64();
            let (rows, total, pages) = (self.rows, self.total.max(self.rows), self.pages);
            let (unit, api) = match self.ran {
                Ran::Rest => ("page(s)", "REST API"),
                Ran::Bulk => ("download(s)", "Bulk API 2.0"),
            };
            eprintln!("{rows} of {total} rows in {pages} {unit} ({api}), {secs:.2} s{extra}");
            if let Some(path) = &args.out {
                eprintln!("written to {}", path.display());
            }
        }
        Ok(())
    }
}

/// Whether a CSV header line names these columns, in this order.
fn header_matches(labels: &[String], header: &[u8]) -> bool {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(header);
    match reader.records().next() {
        Some(Ok(r)) => r.iter().eq(labels.iter().map(String::as_str)),
        _ => labels.is_empty(),
    }
}

/// Records in CSV text (quoted line breaks are not record ends).
fn count_csv_records(rows: &[u8]) -> u64 {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(rows);
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader.read_byte_record(&mut record).unwrap_or(false) {
        n += 1;
    }
    n
}

fn is_broken_pipe(e: &Error) -> bool {
    e.message.contains("Broken pipe")
}

pub async fn run(desk: &Desk, args: QueryArgs) -> Result<()> {
    if (args.bom || args.guard_formulas) && args.format != Format::Csv {
        return Err(Error::invalid_input("--bom and --guard-formulas apply to CSV: add --format csv"));
    }
    let soql_text = if args.soql == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Error::invalid_input(format!("cannot read the query: {e}")))?;
        s
    } else {
        args.soql.clone()
    };
    if args.api == Api::Bulk {
        if args.format != Format::Csv {
            return Err(Error::invalid_input("Bulk API 2.0 returns CSV: add --format csv, or use --api rest"));
        }
        if args.max_rows.is_some() {
            return Err(Error::invalid_input("--max-rows applies to the REST API: use --api rest, or a LIMIT in the query"));
        }
        if let Some(why) = bulk_unsupported(&soql_text) {
            return Err(Error::invalid_input(format!("Bulk API 2.0 cannot run this query: {why}")).with_hint("use --api rest"));
        }
    }
    let session = desk.session_named(&args.name)?;
    let mut out = Output::open(&args, &soql_text)?;
    let result = if args.api == Api::Bulk {
        run_bulk(&session, &soql_text, &args, &mut out).await
    } else {
        run_rest(&session, &soql_text, &args, &mut out, args.api == Api::Auto).await
    };
    match result {
        Err(e) if is_broken_pipe(&e) => return Ok(()),
        other => other?,
    }
    match out.finish() {
        Err(e) if is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

async fn run_rest(
    session: &oauth_desk_core::Session,
    soql_text: &str,
    args: &QueryArgs,
    out: &mut Output<'_>,
    may_switch: bool,
) -> Result<()> {
    // A table holds its rows until the end: it shows at most TABLE_ROWS, and fetches no more.
    let table_cap = (args.format == Format::Table).then_some(TABLE_ROWS + 1);
    let max_rows = match (args.max_rows, table_cap) {
        (Some(m), Some(c)) => Some(m.min(c)),
        (m, c) => m.or(c),
    };
    let options = QueryOptions { include_deleted: args.all, batch_size: args.batch_size, max_rows };
    let mut stream = SalesforceApi::of(session)?.query_raw(soql_text, options);
    let asked = Instant::now();
    let Some(first) = stream.next().await else { return Ok(()) };
    let first = first?;
    let page_time = asked.elapsed();
    // The first page as values: it decides the columns and their labels.
    let page = first.page()?;
    let may_switch = may_switch && args.format == Format::Csv && args.max_rows.is_none();
    if may_switch && !first.done && first.total_size > args.bulk_threshold && bulk_unsupported(soql_text).is_none() {
        let per_page = page.records.len().max(1) as u64;
        let pages_left = first.total_size.saturating_sub(per_page).div_ceil(per_page);
        let rest_estimate = page_time.as_secs_f64() * pages_left as f64;
        if rest_estimate > args.bulk_after {
            drop(stream);
            if !args.quiet {
                eprintln!(
                    "{} rows, about {rest_estimate:.1} s more by REST at the first page's pace: running the query as a Bulk API 2.0 job (--api rest keeps to REST)",
                    first.total_size
                );
            }
            return match run_bulk(session, soql_text, args, out).await {
                // Salesforce would not run it as a job (a feature our check does not know of):
                // nothing was written yet, so REST runs it after all.
                Err(e) if e.code == oauth_desk_core::ErrorCode::InvalidInput && out.pages == 0 => {
                    if !args.quiet {
                        eprintln!("Bulk API 2.0 would not run it ({}); running it on REST", e.provider_message().unwrap_or(&e.message));
                    }
                    out.ran = Ran::Rest;
                    Box::pin(run_rest(session, soql_text, args, out, false)).await
                }
                other => other,
            };
        }
    }
    let mut received = page.records.len() as u64;
    first.check_row_count(received)?;
    if !out.rest_page(&page)? {
        return Ok(());
    }
    drop(page);
    if args.format != Format::Csv {
        while let Some(raw) = stream.next().await {
            let raw = raw?;
            let page = raw.page()?;
            received += page.records.len() as u64;
            raw.check_row_count(received)?;
            if !out.rest_page(&page)? {
                break;
            }
        }
        return Ok(());
    }
    // CSV: each page read once, straight into CSV, on a blocking thread while the next page
    // downloads.
    let plan = Arc::new(RowPlan::new(out.columns.paths()));
    let mut pending: Option<(tokio::task::JoinHandle<Result<CsvPage>>, RawPage)> = None;
    loop {
        let parse = async {
            match pending.take() {
                Some((handle, meta)) => Some((handle.await, meta)),
                None => None,
            }
        };
        let (next, parsed) = tokio::join!(stream.next(), parse);
        if let Some((result, meta)) = parsed {
            let page = result.map_err(|e| Error::unexpected(format!("reading a page stopped: {e}")))??;
            received += page.rows;
            meta.check_row_count(received)?;
            if !out.csv_page(&page, meta.total_size)? {
                break;
            }
        }
        let Some(raw) = next else { break };
        let mut raw = raw?;
        let body = std::mem::take(&mut raw.body);
        let job = CsvJob { plan: plan.clone(), guard: args.guard_formulas, tty: out.tty, remaining: out.limit.saturating_sub(out.rows) };
        pending = Some((tokio::task::spawn_blocking(move || job.run(&body)), raw));
    }
    Ok(())
}

/// One page's records as CSV, made off the async threads.
struct CsvJob {
    plan: Arc<RowPlan>,
    guard: bool,
    tty: bool,
    /// Rows still wanted (--max-rows).
    remaining: u64,
}

struct CsvPage {
    csv: Vec<u8>,
    rows: u64,
    /// --max-rows was reached inside this page.
    stopped: bool,
}

impl CsvJob {
    fn run(&self, body: &[u8]) -> Result<CsvPage> {
        let mut w = quoted_writer(Vec::with_capacity(body.len() / 2));
        let mut rows = 0u64;
        let read = self.plan.for_each_row(body, |cells| {
            if rows >= self.remaining {
                return Err(None);
            }
            rows += 1;
            for cell in cells {
                let guarded;
                let mut text: &str = cell;
                if self.guard && soql::formula_like(text) {
                    guarded = format!("'{text}");
                    text = &guarded;
                }
                if self.tty {
                    w.write_field(oauth_desk_core::error::printable(text).as_bytes()).map_err(Some)?;
                } else {
                    w.write_field(text.as_bytes()).map_err(Some)?;
                }
            }
            w.write_record(None::<&[u8]>).map_err(Some)
        });
        let stopped = match read {
            Ok(_) => false,
            Err(RowError::Sink(None)) => true,
            Err(RowError::Sink(Some(e))) => return Err(csv_error(e)),
            Err(RowError::Json(e)) => return Err(Error::unexpected(format!("unexpected query result ({e})"))),
        };
        let csv = w.into_inner().map_err(|e| Error::unexpected(e.to_string()))?;
        Ok(CsvPage { csv, rows, stopped })
    }
}

async fn run_bulk(session: &oauth_desk_core::Session, soql_text: &str, args: &QueryArgs, out: &mut Output<'_>) -> Result<()> {
    let api = SalesforceApi::of(session)?;
    out.ran = Ran::Bulk;
    let job = api.bulk_create(soql_text, args.all).await?;
    let started = Instant::now();
    let (quiet, tty) = (args.quiet, std::io::stderr().is_terminal());
    let mut last = String::new();
    let work = async {
        let done = api
            .bulk_wait(&job.id, |j| {
                let line = format!("Bulk API 2.0 job {}: {}, {} records processed", j.id, j.state, j.number_records_processed.unwrap_or(0));
                if !quiet && line != last && started.elapsed() >= Duration::from_millis(500) {
                    if tty {
                        eprint!("\r{line}   ");
                    } else {
                        eprintln!("{line}");
                    }
                }
                last = line;
            })
            .await?;
        if !quiet && tty && started.elapsed() >= Duration::from_millis(500) {
            eprintln!();
        }
        out.total = done.number_records_processed.unwrap_or(0);
        let download = BulkDownload { parallel: args.bulk_parallel.into(), max_records: None };
        let mut chunks = api.bulk_results(&job.id, download);
        while let Some(chunk) = chunks.next().await {
            out.bulk_chunk(&chunk?)?;
        }
        Ok::<(), Error>(())
    };
    let result = tokio::select! {
        r = work => r,
        _ = tokio::signal::ctrl_c() => Err(Error::new(oauth_desk_core::ErrorCode::Cancelled, "the query was cancelled")),
    };
    // The job's results stay on Salesforce until deleted: delete it whatever happened (abort it
    // first when it may still run).
    if result.is_err() {
        let _ = api.bulk_abort(&job.id).await;
    }
    if let Err(e) = api.bulk_delete(&job.id).await {
        if result.is_ok() && !args.quiet {
            eprintln!("note: the Bulk API job {} could not be deleted ({e}); Salesforce deletes it after 7 days", job.id);
        }
    }
    result
}
