//! `oauth-desk query`: SOQL pages streamed to a table, CSV, JSON or NDJSON as they arrive.
//!
//! Rows are written page by page and never held beyond the current page (except for the table,
//! which must measure its columns). With `--out`, the file appears only when the query finished:
//! rows go to a temporary file beside it, renamed into place at the end, so a failed or cancelled
//! query never leaves half a file behind.

use clap::{Args, ValueEnum};
use futures::StreamExt;
use oauth_desk_core::providers::salesforce::{QueryOptions, SalesforceApi};
use oauth_desk_core::soql::{self, QueryColumns};
use oauth_desk_core::{Desk, Error, Result};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
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
    let session = desk.session_named(&args.name)?;
    // A table holds its rows until the end: it shows at most TABLE_ROWS, and fetches no more.
    let table_cap = (args.format == Format::Table).then_some(TABLE_ROWS + 1);
    let max_rows = match (args.max_rows, table_cap) {
        (Some(m), Some(c)) => Some(m.min(c)),
        (m, c) => m.or(c),
    };
    let options = QueryOptions { include_deleted: args.all, batch_size: args.batch_size, max_rows };
    let mut stream = SalesforceApi::of(&session)?.query(&soql_text, options);

    let mut sink = Sink::open(&args.out)?;
    let mut progress = Progress { started: Instant::now(), last: None, tty: std::io::stderr().is_terminal(), enabled: !args.quiet };
    let mut columns = QueryColumns::for_query(&soql_text);
    let mut csv_writer: Option<csv::Writer<Vec<u8>>> = None;
    let mut table_rows: Vec<Vec<String>> = Vec::new();
    let (mut rows, mut pages, mut total) = (0u64, 0u64, 0u64);
    let limit = match (args.max_rows, args.format) {
        (m, Format::Table) => m.unwrap_or(u64::MAX).min(TABLE_ROWS),
        (m, _) => m.unwrap_or(u64::MAX),
    };
    let tty = args.out.is_none() && std::io::stdout().is_terminal();
    let mut stopped_early = false;

    if args.format == Format::Json {
        sink.write_all(b"[").map_err(io_error)?;
    }
    if args.format == Format::Csv && args.bom {
        sink.write_all("\u{feff}".as_bytes()).map_err(io_error)?;
    }
    'pages: while let Some(page) = stream.next().await {
        let page = page?;
        pages += 1;
        total = page.total_size;
        if !columns.is_resolved() {
            columns.resolve(page.records.first());
            if args.format == Format::Csv {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(columns.labels()).map_err(|e| Error::unexpected(e.to_string()))?;
                csv_writer = Some(w);
            }
        }
        for record in &page.records {
            if rows >= limit {
                stopped_early = true;
                break 'pages;
            }
            rows += 1;
            match args.format {
                Format::Csv => {
                    if let Some(w) = csv_writer.as_mut() {
                        for cell in columns.spreadsheet_cells(record, args.guard_formulas) {
                            // On a terminal, a server's control characters are shown, not obeyed.
                            let cell = if tty { std::borrow::Cow::Owned(oauth_desk_core::error::printable(&cell)) } else { cell };
                            w.write_field(cell.as_bytes()).map_err(|e| Error::unexpected(e.to_string()))?;
                        }
                        w.write_record(None::<&[u8]>).map_err(|e| Error::unexpected(e.to_string()))?;
                    }
                }
                Format::Json => {
                    if rows > 1 {
                        sink.write_all(b",").map_err(io_error)?;
                    }
                    sink.write_all(b"\n  ").map_err(io_error)?;
                    write_json(&mut sink, &soql::strip_attributes(record), tty)?;
                }
                Format::Ndjson => {
                    write_json(&mut sink, &soql::strip_attributes(record), tty)?;
                    sink.write_all(b"\n").map_err(io_error)?;
                }
                Format::Table => table_rows.push(columns.cells(record).map(|c| oauth_desk_core::error::printable(&c)).collect()),
            }
        }
        // Hand each page's CSV to the sink as it completes, so memory holds one page at most.
        if let Some(w) = csv_writer.take() {
            let mut buf = w.into_inner().map_err(|e| Error::unexpected(e.to_string()))?;
            if let Err(e) = sink.write_all(&buf) {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(());
                }
                return Err(io_error(e));
            }
            buf.clear();
            csv_writer = Some(csv::Writer::from_writer(buf));
        }
        progress.update(rows, total, pages);
    }
    drop(stream);
    progress.done();
    let csv_started = csv_writer.is_some();
    if let Some(w) = csv_writer.take() {
        // Rows of a page cut short by --max-rows.
        let buf = w.into_inner().map_err(|e| Error::unexpected(e.to_string()))?;
        sink.write_all(&buf).map_err(io_error)?;
    }
    match args.format {
        Format::Json => sink.write_all(if rows > 0 { b"\n]\n" } else { b"]\n" }).map_err(io_error)?,
        Format::Table if rows > 0 => {
            let mut t = crate::output::table(&columns.labels().iter().map(String::as_str).collect::<Vec<_>>());
            for r in table_rows {
                t.add_row(r);
            }
            writeln!(sink, "{t}").map_err(io_error)?;
        }
        // No page came: still write the header when the select list gives one.
        Format::Csv if !csv_started && !columns.labels().is_empty() => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(columns.labels()).map_err(|e| Error::unexpected(e.to_string()))?;
            sink.write_all(&w.into_inner().map_err(|e| Error::unexpected(e.to_string()))?).map_err(io_error)?;
        }
        _ => {}
    }
    match sink.finish() {
        Err(e) if e.message.contains("Broken pipe") => return Ok(()),
        other => other?,
    }
    if !args.quiet {
        let extra = match (stopped_early, args.format) {
            (true, Format::Table) if args.max_rows.is_none_or(|m| m > TABLE_ROWS) => {
                " (a table shows the first 10000: use --format csv, json or ndjson, or --out, for every row)"
            }
            (true, _) => " (stopped early at --max-rows)",
            (false, _) => "",
        };
        let secs = progress.started.elapsed().as_secs_f64();
        eprintln!("{rows} of {total} rows in {pages} page(s), {secs:.2} s{extra}");
        if let Some(path) = &args.out {
            eprintln!("written to {}", path.display());
        }
    }
    Ok(())
}
