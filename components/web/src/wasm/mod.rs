//! The glue: a Spin HTTP request in, `serve`'s reply out.

use crate::serve::{serve, Request};
use spin_sdk::http::{Method, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: spin_sdk::http::Request) -> Response {
    let method = match req.method() {
        Method::Get => "GET",
        Method::Head => "HEAD",
        _ => "OTHER",
    };
    let header = |name: &str| req.header(name).and_then(|v| v.as_str());
    let reply = serve(Request {
        method,
        path: req.path(),
        if_none_match: header("if-none-match"),
        accept_encoding: header("accept-encoding"),
    });
    let mut response = Response::builder();
    response.status(reply.status);
    for (name, value) in &reply.headers {
        response.header(*name, value.as_str());
    }
    response.body(reply.body.to_vec()).build()
}
