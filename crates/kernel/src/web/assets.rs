//! Static files embedded in the binary, so machi works offline and from one file.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("../../assets/machi.css");
const TERMINAL_JS: &str = include_str!("../../assets/terminal.js");
const BANNER_JS: &str = include_str!("../../assets/banner.js");
const PROGRESS_JS: &str = include_str!("../../assets/progress.js");
const FAVICON: &str = include_str!("../../assets/favicon.svg");

/// Other modules' assets are registered here too as they arrive.
pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "machi.css" => Some(("text/css; charset=utf-8", CSS)),
        "terminal.js" => Some(("text/javascript; charset=utf-8", TERMINAL_JS)),
        "banner.js" => Some(("text/javascript; charset=utf-8", BANNER_JS)),
        "progress.js" => Some(("text/javascript; charset=utf-8", PROGRESS_JS)),
        "favicon.svg" => Some(("image/svg+xml", FAVICON)),
        _ => None,
    }
}

pub async fn serve(Path(name): Path<String>) -> Response {
    match asset(&name) {
        Some((mime, body)) => (
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Browsers ask for `/favicon.ico` whatever the page links: the same small SVG (a house on the town's green).
pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
        .into_response()
}
