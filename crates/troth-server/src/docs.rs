//! The human-readable API documentation page at `/docs`, rendered on the server from
//! the OpenAPI document. It needs no JavaScript and loads nothing from elsewhere: a
//! privacy tool should not send its operators' browsers to a CDN.

use std::fmt::Write as _;

use serde_json::Value;

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

fn schema_name(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    match v.get("type").and_then(Value::as_str) {
        Some("array") => format!("[{}]", v.get("items").map(schema_name).unwrap_or_default()),
        Some(t) => t.to_owned(),
        None => "object".to_owned(),
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Renders the documentation page for an OpenAPI document.
pub fn page(openapi: &Value) -> String {
    let title = openapi
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("API");
    let version = openapi
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>{} <small>{}</small></h1><p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a>. \
         Authenticate with <code>Authorization: Bearer troth_…</code>. Errors are \
         <code>application/problem+json</code>; each <code>type</code> links to its explanation.</p>",
        esc(title),
        esc(version)
    );
    if let Some(paths) = openapi.get("paths").and_then(Value::as_object) {
        body.push_str("<nav><ul>");
        for (path, item) in paths {
            for m in METHODS {
                if item.get(m).is_some() {
                    let _ = write!(
                        body,
                        "<li><a href=\"#{m}-{anchor}\"><code>{M} {p}</code></a></li>",
                        anchor = esc(&path.replace(['/', '{', '}'], "-")),
                        M = m.to_uppercase(),
                        p = esc(path)
                    );
                }
            }
        }
        body.push_str("</ul></nav>");
        for (path, item) in paths {
            for m in METHODS {
                let Some(op) = item.get(m) else { continue };
                let _ = write!(
                    body,
                    "<section id=\"{m}-{anchor}\"><h2><code>{M} {p}</code></h2>",
                    anchor = esc(&path.replace(['/', '{', '}'], "-")),
                    M = m.to_uppercase(),
                    p = esc(path)
                );
                if let Some(s) = op.get("summary").and_then(Value::as_str) {
                    let _ = write!(body, "<p><strong>{}</strong></p>", esc(s));
                }
                if let Some(d) = op.get("description").and_then(Value::as_str) {
                    let _ = write!(body, "<p>{}</p>", esc(d));
                }
                if let Some(params) = op.get("parameters").and_then(Value::as_array) {
                    body.push_str("<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>");
                    for p in params {
                        let _ = write!(
                            body,
                            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                            esc(p.get("name").and_then(Value::as_str).unwrap_or("")),
                            esc(p.get("in").and_then(Value::as_str).unwrap_or("")),
                            esc(&p.get("schema").map(schema_name).unwrap_or_default()),
                            if p.get("required").and_then(Value::as_bool).unwrap_or(false) {
                                "yes"
                            } else {
                                "no"
                            },
                            esc(p.get("description").and_then(Value::as_str).unwrap_or("")),
                        );
                    }
                    body.push_str("</table>");
                }
                if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                    let _ = write!(
                        body,
                        "<h3>Request body</h3><p><code>{}</code></p>",
                        esc(&schema_name(schema))
                    );
                }
                if let Some(res) = op.get("responses").and_then(Value::as_object) {
                    body.push_str("<h3>Responses</h3><table><tr><th>status</th><th>description</th><th>body</th></tr>");
                    for (code, r) in res {
                        let schema = r
                            .get("content")
                            .and_then(Value::as_object)
                            .and_then(|c| c.values().next())
                            .and_then(|c| c.get("schema"))
                            .map(schema_name)
                            .unwrap_or_default();
                        let _ = write!(
                            body,
                            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                            esc(code),
                            esc(r.get("description").and_then(Value::as_str).unwrap_or("")),
                            esc(&schema)
                        );
                    }
                    body.push_str("</table>");
                }
                body.push_str("</section>");
            }
        }
    }
    if let Some(schemas) = openapi
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        body.push_str("<h2>Schemas</h2>");
        for (name, s) in schemas {
            let pretty = serde_json::to_string_pretty(s).unwrap_or_default();
            let _ = write!(
                body,
                "<section id=\"schema-{n}\"><h3>{n}</h3><pre>{}</pre></section>",
                esc(&pretty),
                n = esc(name)
            );
        }
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>\
         body{{margin:0;font:15px/1.6 system-ui,sans-serif;color:#1f2328}}\
         main{{max-width:60rem;margin:0 auto;padding:2rem 1.25rem}}\
         h2{{margin-top:2.5rem;border-bottom:1px solid #d0d7de}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left}}\
         code,pre{{background:#f6f8fa;border-radius:4px}}pre{{padding:.75rem;overflow:auto}}\
         nav ul{{columns:2}}</style></head><body><main>{body}</main></body></html>",
        t = esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_operations_and_escapes_text() {
        let doc = serde_json::json!({
            "info": {"title": "troth <api>", "version": "1"},
            "paths": {"/v1/decisions": {"post": {
                "summary": "Ask for a decision",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/DecisionRequest"}}}},
                "responses": {"200": {"description": "the decision", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Decision"}}}}}
            }}},
            "components": {"schemas": {"Decision": {"type": "object"}}}
        });
        let html = page(&doc);
        assert!(html.contains("<code>POST /v1/decisions</code>"));
        assert!(html.contains("DecisionRequest"));
        assert!(html.contains("troth &lt;api&gt;"));
        assert!(!html.contains("<api>"));
    }
}
