//! The `Transport` of the search components: spin-sdk's outbound HTTP (Typesense must be in
//! the component's `allowed_outbound_hosts`).

use crate::typesense::{Request, Response, Transport};
use spin_sdk::http::Method;

pub struct SpinHttp;

impl Transport for SpinHttp {
    fn send(&self, request: Request) -> Result<Response, String> {
        let method = match request.method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            other => return Err(format!("no such method {other}")),
        };
        let mut builder = spin_sdk::http::Request::builder();
        builder.method(method).uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder.header(*name, value.as_str());
        }
        let outgoing = builder.body(request.body.unwrap_or_default()).build();
        let response: spin_sdk::http::Response =
            spin_executor::run(spin_sdk::http::send(outgoing)).map_err(|e| format!("{} {}: {e}", request.method, request.url))?;
        Ok(Response { status: *response.status(), body: response.into_body() })
    }
}
