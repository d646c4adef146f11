//! What one client may take of the HTTP port: request bodies are capped per route, and the
//! instances requests hold are budgeted apart from the other triggers' work.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A request body that fails once it passes `limit` bytes, and says so afterwards, so the host
/// can answer 413 whatever the component made of the failed read.
pub struct CappedBody<B> {
    inner: B,
    seen: u64,
    limit: u64,
    exceeded: Arc<AtomicBool>,
}

impl<B> CappedBody<B> {
    pub fn new(inner: B, limit: u64) -> (Self, Arc<AtomicBool>) {
        let exceeded = Arc::new(AtomicBool::new(false));
        (Self { inner, seen: 0, limit, exceeded: exceeded.clone() }, exceeded)
    }
}

impl<B> Body for CappedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.exceeded.load(Ordering::Relaxed) {
            return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpRequestBodySize(Some(self.seen)))));
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.seen += data.len() as u64;
                    if self.seen > self.limit {
                        self.exceeded.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(wasmtime_wasi_http::Error::HttpRequestBodySize(Some(self.seen)))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The declared length of a request, when it declares one that parses.
pub fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers.get(http::header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// The instances HTTP requests may hold at once.
pub struct RequestBudget {
    permits: Arc<Semaphore>,
    size: usize,
}

impl RequestBudget {
    pub fn new(size: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(size)), size }
    }

    /// A permit, or `None` when every one is held: a full host answers at once rather than
    /// queueing work it would finish after the client gave up.
    pub fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }

    pub fn size(&self) -> usize {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    type Frames = Vec<Result<Frame<Bytes>, hyper::Error>>;

    fn chunks(sizes: &[usize]) -> StreamBody<futures::stream::Iter<<Frames as IntoIterator>::IntoIter>> {
        let frames: Frames = sizes.iter().map(|n| Ok(Frame::data(Bytes::from(vec![b'x'; *n])))).collect();
        StreamBody::new(futures::stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_within_the_cap_passes_whole() {
        let (body, exceeded) = CappedBody::new(chunks(&[400, 600]), 1000);
        let bytes = body.collect().await.expect("within the cap").to_bytes();
        assert_eq!(bytes.len(), 1000);
        assert!(!exceeded.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn a_body_past_the_cap_fails_and_says_so() {
        let (body, exceeded) = CappedBody::new(chunks(&[600, 600, 600]), 1000);
        let error = body.collect().await.expect_err("past the cap");
        assert!(matches!(error, wasmtime_wasi_http::Error::HttpRequestBodySize(Some(1200))), "{error:?}");
        assert!(exceeded.load(Ordering::Relaxed));
    }

    #[test]
    fn the_budget_refuses_past_its_size_and_frees_on_drop() {
        let budget = RequestBudget::new(2);
        let a = budget.try_take().expect("first");
        let _b = budget.try_take().expect("second");
        assert!(budget.try_take().is_none());
        drop(a);
        assert!(budget.try_take().is_some());
    }

    #[test]
    fn declared_lengths_parse_or_are_absent() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(declared_length(&headers), None);
        headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("2048"));
        assert_eq!(declared_length(&headers), Some(2048));
        headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("lots"));
        assert_eq!(declared_length(&headers), None);
    }
}
