//! The legacy service's HTML error pages (Werkzeug's), byte for byte.

/// 400 for a body that is not JSON at all.
pub const BAD_REQUEST: &str = "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n<p>The browser (or proxy) sent a request that this server could not understand.</p>\n";
/// 404.
pub const NOT_FOUND: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n";
/// 405.
pub const METHOD_NOT_ALLOWED: &str = "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n";
/// 415.
pub const UNSUPPORTED_MEDIA_TYPE: &str = "<!doctype html>\n<html lang=en>\n<title>415 Unsupported Media Type</title>\n<h1>Unsupported Media Type</h1>\n<p>Did not attempt to load JSON data because the request Content-Type was not &#39;application/json&#39;.</p>\n";
/// 500.
pub const INTERNAL_SERVER_ERROR: &str = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n";
/// 401 (the legacy service had no auth; same skeleton).
pub const UNAUTHORIZED: &str = "<!doctype html>\n<html lang=en>\n<title>401 Unauthorized</title>\n<h1>Unauthorized</h1>\n<p>A valid API token is required: Authorization: Bearer &lt;token&gt;.</p>\n";
/// 403 (the legacy service had none; same skeleton): strict mode without this route's operation.
pub const FORBIDDEN: &str = "<!doctype html>\n<html lang=en>\n<title>403 Forbidden</title>\n<h1>Forbidden</h1>\n<p>This server runs only allow-listed operations, and this route&#39;s operation is not on the list.</p>\n";
/// 503 (the legacy service had none; same skeleton).
pub const SERVICE_UNAVAILABLE: &str = "<!doctype html>\n<html lang=en>\n<title>503 Service Unavailable</title>\n<h1>Service Unavailable</h1>\n<p>The database is unavailable. Please retry later.</p>\n";

/// The 400 page with `message` (HTML-escaped) as its paragraph: how the shim names the field
/// where the legacy service answered 500.
pub fn bad_request(message: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n<p>{}</p>\n",
        escape(message)
    )
}

/// A page in the same skeleton for any status, with `message` (HTML-escaped) as its paragraph:
/// the statuses the legacy service never sent (409, 412, 422).
pub fn page(code: u16, reason: &str, message: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=en>\n<title>{code} {reason}</title>\n<h1>{reason}</h1>\n<p>{}</p>\n",
        escape(message)
    )
}

/// Werkzeug's HTML escaping.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_have_the_legacy_lengths() {
        assert_eq!(BAD_REQUEST.len(), 167);
        assert_eq!(NOT_FOUND.len(), 207);
        assert_eq!(METHOD_NOT_ALLOWED.len(), 153);
        assert_eq!(UNSUPPORTED_MEDIA_TYPE.len(), 215);
        assert_eq!(INTERNAL_SERVER_ERROR.len(), 265);
    }

    #[test]
    fn other_statuses_use_the_same_skeleton() {
        assert_eq!(
            page(412, "Precondition Failed", "stale <tag>"),
            "<!doctype html>\n<html lang=en>\n<title>412 Precondition Failed</title>\n<h1>Precondition Failed</h1>\n<p>stale &lt;tag&gt;</p>\n"
        );
        assert_eq!(page(400, "Bad Request", "x"), bad_request("x"));
    }

    #[test]
    fn messages_are_escaped() {
        assert!(
            bad_request("age: expected a number, got \"<b>\"")
                .contains("<p>age: expected a number, got &quot;&lt;b&gt;&quot;</p>")
        );
    }
}
