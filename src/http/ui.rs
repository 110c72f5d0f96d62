//! The web UI: three files embedded in the binary (no CDN, no external
//! fonts), served at `/`, `ui/app.js` and `ui/app.css`. Every URL in them is
//! relative, so the UI works behind Home Assistant's ingress; when the
//! ingress proxy names its path (`X-Ingress-Path`), the page gets a
//! `<base href>` with it, so it also works when opened without a trailing
//! slash.

use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("ui/index.html");
const APP_JS: &str = include_str!("ui/app.js");
const APP_CSS: &str = include_str!("ui/app.css");

/// The `<base href>` for an ingress path, if it is a plain absolute path.
pub fn base_for(ingress_path: &str) -> Option<String> {
    let ok = ingress_path.starts_with('/')
        && ingress_path.len() <= 256
        && ingress_path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
    ok.then(|| format!("{}/", ingress_path.trim_end_matches('/')))
}

/// `GET /`.
pub async fn index(headers: HeaderMap) -> Response {
    let base = headers
        .get("x-ingress-path")
        .and_then(|v| v.to_str().ok())
        .and_then(base_for);
    let page = match base {
        Some(base) => INDEX.replacen("<head>", &format!("<head>\n<base href=\"{base}\">"), 1),
        None => INDEX.to_string(),
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        page,
    )
        .into_response()
}

/// `GET /ui/<file>`.
pub async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return super::error(StatusCode::NOT_FOUND, format!("no file {file:?}")),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ingress_paths_become_a_base() {
        assert_eq!(
            base_for("/api/hassio_ingress/Abc-123_x"),
            Some("/api/hassio_ingress/Abc-123_x/".into())
        );
        for bad in ["api/x", "/x\"><script>", "/a b", "//evil.example/x\u{0}"] {
            assert_eq!(base_for(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_page_uses_only_relative_urls_and_nothing_external() {
        for text in [INDEX, APP_JS, APP_CSS] {
            for bad in [
                "src=\"/",
                "href=\"/",
                "fetch('/",
                "fetch(\"/",
                "http://",
                "https://",
                "url(/",
            ] {
                assert!(!text.contains(bad), "{bad} in the UI");
            }
        }
    }
}
