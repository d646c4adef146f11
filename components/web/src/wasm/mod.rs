//! The glue: a Spin HTTP request in, a reply out. A report's path is drawn from the BFF's
//! answer (Spin's service chaining); when the BFF cannot answer, the plain page is served and
//! the script in the browser tries again, saying what failed.

use crate::render::report_page;
use crate::serve::{drawn_page, page_template, report_route, serve, Reply, Request};
use spin_sdk::http::{Method, Response};
use spin_sdk::http_component;

/// The BFF, in-process on our host and on Spin alike.
const BFF: &str = "http://bff.spin.internal/api/bff/battle/";

/// The report's page from the BFF's answer; `None` when the BFF failed (not for a 404: a
/// battle that does not exist is a 404 page).
async fn report(req: &Request<'_>, id: &str, own_url: Option<&str>) -> Option<Reply> {
    let asked = spin_sdk::http::Request::get(format!("{BFF}{id}")).build();
    let answer: Response = match spin_sdk::http::send(asked).await {
        Ok(answer) => answer,
        Err(e) => {
            eprintln!("web: the BFF did not answer for battle {id}: {e}");
            return None;
        }
    };
    match answer.status() {
        200 => {
            let body: serde_json::Value = serde_json::from_slice(answer.body())
                .inspect_err(|e| eprintln!("web: the BFF's report of battle {id} is not JSON: {e}"))
                .ok()?;
            Some(drawn_page(req, 200, report_page(page_template(), &body, own_url)))
        }
        // The page says so when its script asks; a crawler gets the status.
        404 => Some(drawn_page(req, 404, page_template().to_string())),
        status => {
            eprintln!("web: the BFF answered {status} for battle {id}");
            None
        }
    }
}

#[http_component]
async fn handle(req: spin_sdk::http::Request) -> Response {
    let method = match req.method() {
        Method::Get => "GET",
        Method::Head => "HEAD",
        _ => "OTHER",
    };
    let header = |name: &str| req.header(name).and_then(|v| v.as_str());
    let request =
        Request { method, path: req.path(), if_none_match: header("if-none-match"), accept_encoding: header("accept-encoding") };
    // Spin (and our host) say the address the request was made to.
    let own_url = header("spin-full-url").map(str::to_string);
    let drawn = match report_route(&request) {
        Some(id) => report(&request, id, own_url.as_deref()).await,
        None => None,
    };
    let reply = drawn.unwrap_or_else(|| serve(request));
    let mut response = Response::builder();
    response.status(reply.status);
    for (name, value) in &reply.headers {
        response.header(*name, value.as_str());
    }
    response.body(reply.body.into_owned()).build()
}
