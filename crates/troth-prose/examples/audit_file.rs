//! Audit one policy file and print the text report:
//! `cargo run -p troth-prose --example audit_file -- PATH [pipl|gdpr|ccpa] [--json|--html]`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use troth_prose::{Document, Format, audit};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let law: audit::Law = args.get(2).map_or("pipl", String::as_str).parse().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let ext = std::path::Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let format = Format::from_extension(ext).unwrap_or_else(|| Format::detect(&text));
    let doc = Document::from_text(&text, format).unwrap();
    let report = audit::audit(&doc, law);
    if args.iter().any(|a| a == "--json") {
        println!("{}", report.render_json().unwrap());
    } else if args.iter().any(|a| a == "--html") {
        println!("{}", report.render_html());
    } else {
        print!("{}", report.render_text());
    }
}
