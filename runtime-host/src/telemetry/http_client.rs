//! The OTLP exporter's HTTP client: one HTTP/1.1 request per batch over a fresh connection,
//! on the host's own runtime. Plain `http://` only: a collector beside the host (a sidecar or
//! a node agent) is the usual deployment, and it forwards with TLS if it must.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry_http::{HttpClient, HttpError};

#[derive(Debug)]
pub struct OtlpHttp {
    authority: String,
}

impl OtlpHttp {
    pub fn new(traces_url: &str) -> anyhow::Result<Self> {
        let url = url::Url::parse(traces_url)?;
        anyhow::ensure!(url.scheme() == "http", "only http:// endpoints are supported (a collector beside the host)");
        let host = url.host_str().ok_or_else(|| anyhow::anyhow!("no host in {traces_url}"))?;
        let port = url.port_or_known_default().unwrap_or(4318);
        Ok(Self { authority: format!("{host}:{port}") })
    }
}

#[async_trait::async_trait]
impl HttpClient for OtlpHttp {
    async fn send_bytes(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, HttpError> {
        let stream = tokio::net::TcpStream::connect(&self.authority).await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let (mut parts, body) = request.into_parts();
        parts.headers.insert(http::header::HOST, http::HeaderValue::from_str(&self.authority)?);
        // Origin form on the wire, as a client talking to the server itself sends it.
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
        parts.uri = path.parse()?;
        let response = sender.send_request(http::Request::from_parts(parts, Full::new(body))).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(http::Response::from_parts(parts, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_plain_http_endpoints_only() {
        assert_eq!(OtlpHttp::new("http://127.0.0.1:4318/v1/traces").unwrap().authority, "127.0.0.1:4318");
        assert_eq!(OtlpHttp::new("http://collector/v1/traces").unwrap().authority, "collector:80");
        let refused = OtlpHttp::new("https://collector:4318/v1/traces").unwrap_err().to_string();
        assert!(refused.contains("only http://"), "{refused}");
        assert!(OtlpHttp::new("not a url").is_err());
    }
}
