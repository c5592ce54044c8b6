//! Log setup: human-readable or JSON lines; `RUST_LOG` wins over the default level.
//!
//! Every event is one line: control characters inside it (a CR or LF in a
//! file name a client chose, a terminal escape) are written escaped, so that
//! no value can forge a log line or drive the operator's terminal.

use std::io::{self, IsTerminal, Write};

use tracing_subscriber::{fmt, EnvFilter};

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,actix_server=warn"));
    // Colours only on a terminal; their escape codes are then the only ones let through.
    let colours = !json && io::stdout().is_terminal();
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colours)
        .with_writer(move || OneLine::new(io::stdout(), colours));
    let result = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests start many apps in one process) keeps the first subscriber.
    let _ = result;
}

/// A writer that receives one formatted event per `write_all` (as the fmt
/// layer writes them) and escapes every control character but its final newline.
pub struct OneLine<W> {
    inner: W,
    keep_escapes: bool,
}

impl<W: Write> OneLine<W> {
    /// `keep_escapes` lets ESC through for the formatter's own colours (the
    /// formatter already escapes ESC inside field values).
    pub fn new(inner: W, keep_escapes: bool) -> Self {
        Self {
            inner,
            keep_escapes,
        }
    }
}

/// `line` with its control characters (and Unicode line breaks) written as escapes.
pub fn escape_controls(line: &str, keep_escapes: bool) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            '\x1b' if keep_escapes => out.push(c),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.extend(c.escape_unicode())
            }
            c => out.push(c),
        }
    }
    out
}

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(buf);
        let (body, newline) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (&*text, ""),
        };
        let mut line = escape_controls(body, self.keep_escapes);
        line.push_str(newline);
        self.inner.write_all(line.as_bytes())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_stays_one_line_whatever_its_values_hold() {
        let mut out = Vec::new();
        OneLine::new(&mut out, false)
            .write_all(b"INFO file_name=a.pdf\r\nERROR forged \x1b[2J\x07\xe2\x80\xa8x\n")
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert_eq!(
            text,
            "INFO file_name=a.pdf\\r\\nERROR forged \\u{1b}[2J\\u{7}\\u{2028}x\n"
        );
    }

    #[test]
    fn colours_survive_on_a_terminal() {
        assert_eq!(
            escape_controls("\x1b[32mINFO\x1b[0m\n", true),
            "\x1b[32mINFO\x1b[0m\\n"
        );
    }
}
