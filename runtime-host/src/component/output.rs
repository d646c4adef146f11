//! A component's stdout and stderr, captured line by line and logged as the host's own lines
//! with the component, trigger and trace they came from (JSON with `--log-format json`), instead
//! of bytes interleaved raw on the host's stderr.

use super::invocation::Invocation;
use bytes::Bytes;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// A line longer than this is logged in pieces, so a component writing without newlines cannot
/// grow the host's memory.
const LONGEST_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Where an instance's stream is written: every handle WASI makes of it shares one buffer of
/// the line not yet ended, logged when the instance goes away.
#[derive(Clone)]
pub struct ComponentOutput {
    lines: Arc<Mutex<LineBuffer>>,
}

struct LineBuffer {
    origin: Origin,
    pending: Vec<u8>,
}

struct Origin {
    component: String,
    stream: Stream,
    trigger: &'static str,
    trace_id: String,
    span_id: String,
}

impl ComponentOutput {
    pub fn new(component: &str, stream: Stream, invocation: &Invocation) -> Self {
        let origin = Origin {
            component: component.to_string(),
            stream,
            trigger: invocation.trigger,
            trace_id: invocation.trace_id(),
            span_id: invocation.span_id(),
        };
        Self { lines: Arc::new(Mutex::new(LineBuffer { origin, pending: Vec::new() })) }
    }

    fn append(&self, bytes: &[u8]) {
        let mut buffer = self.lines.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        buffer.append(bytes);
    }
}

impl LineBuffer {
    fn append(&mut self, bytes: &[u8]) {
        for line in split_lines(&mut self.pending, bytes) {
            self.origin.log(&line);
        }
    }
}

/// The lines `bytes` ends, after what `pending` held; what follows the last newline stays in
/// `pending`, unless it reached [`LONGEST_LINE`].
fn split_lines(pending: &mut Vec<u8>, mut bytes: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut end_line = |pending: &mut Vec<u8>| {
        let line = String::from_utf8_lossy(pending).trim_end_matches('\r').to_string();
        pending.clear();
        lines.push(line);
    };
    while let Some(end) = bytes.iter().position(|b| *b == b'\n') {
        pending.extend_from_slice(&bytes[..end]);
        end_line(pending);
        bytes = &bytes[end + 1..];
    }
    pending.extend_from_slice(bytes);
    while pending.len() >= LONGEST_LINE {
        let rest = pending.split_off(LONGEST_LINE);
        end_line(pending);
        *pending = rest;
    }
    lines
}

impl Origin {
    fn log(&self, line: &str) {
        let (component, trigger, trace_id, span_id) = (&self.component, self.trigger, &self.trace_id, &self.span_id);
        match self.stream {
            Stream::Stdout => {
                tracing::info!(target: "component", %component, trigger, stream = "stdout", %trace_id, %span_id, "{line}")
            }
            // Components write their warnings and failures on stderr.
            Stream::Stderr => {
                tracing::warn!(target: "component", %component, trigger, stream = "stderr", %trace_id, %span_id, "{line}")
            }
        }
    }
}

impl Drop for LineBuffer {
    /// The last line, when the component did not end it before its instance went away.
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            self.origin.log(&String::from_utf8_lossy(&self.pending));
        }
    }
}

impl IsTerminal for ComponentOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for ComponentOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Pollable for ComponentOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for ComponentOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(LONGEST_LINE)
    }
}

impl tokio::io::AsyncWrite for ComponentOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_newlines_across_writes_and_keep_the_unended_rest() {
        let mut pending = Vec::new();
        assert_eq!(split_lines(&mut pending, b"first\r\nsec"), vec!["first"]);
        assert_eq!(split_lines(&mut pending, b"ond\n\nthird"), vec!["second", ""]);
        assert_eq!(pending, b"third");
    }

    #[test]
    fn a_line_without_newlines_is_cut_at_the_longest_line() {
        let mut pending = Vec::new();
        let lines = split_lines(&mut pending, &vec![b'x'; 2 * LONGEST_LINE + 5]);
        assert_eq!(lines.iter().map(String::len).collect::<Vec<_>>(), vec![LONGEST_LINE, LONGEST_LINE]);
        assert_eq!(pending.len(), 5);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_replaced_not_dropped() {
        let mut pending = Vec::new();
        assert_eq!(split_lines(&mut pending, b"caf\xe9\n"), vec!["caf\u{fffd}"]);
    }
}
