//! The reindex command's `Transport`: hyper on a runtime of its own, blocking the calling
//! thread (the rebuild is a sequence of imports; nothing else runs meanwhile).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use search::typesense::{Request, Response, Transport};
use std::time::Duration;

pub struct Hyper {
    runtime: tokio::runtime::Runtime,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A request that takes longer than this (a stuck Typesense) is an error, retried as any other.
const TIMEOUT: Duration = Duration::from_secs(60);

impl Hyper {
    pub fn new() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = Client::builder(TokioExecutor::new()).build_http();
        Ok(Self { runtime, client })
    }
}

impl Transport for Hyper {
    fn send(&self, request: Request) -> Result<Response, String> {
        let what = format!("{} {}", request.method, request.url);
        let mut builder = hyper::Request::builder().method(request.method).uri(&request.url);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let outgoing =
            builder.body(Full::new(Bytes::from(request.body.unwrap_or_default()))).map_err(|e| format!("{what}: {e}"))?;
        self.runtime.block_on(async {
            let exchange = async {
                let response = self.client.request(outgoing).await.map_err(|e| format!("{what}: {e}"))?;
                let status = response.status().as_u16();
                let body = response.into_body().collect().await.map_err(|e| format!("{what}: reading the body: {e}"))?.to_bytes();
                Ok(Response { status, body: body.to_vec() })
            };
            tokio::time::timeout(TIMEOUT, exchange).await.map_err(|_| format!("{what}: no answer within {TIMEOUT:?}"))?
        })
    }
}
