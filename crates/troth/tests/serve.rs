//! `troth serve --demo` as a new user runs it: a real process on a real socket,
//! stopped with SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Running {
    child: Child,
    addr: String,
    key: String,
    lines: Vec<String>,
}

fn start(data: &std::path::Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_troth"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env_remove("TROTH_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut addr, mut key, mut lines) = (String::new(), String::new(), Vec::new());
    while key.is_empty() {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "server exited: {lines:?}"
        );
        if let Some(rest) = line.trim().strip_prefix("troth is listening on http://") {
            addr = rest.to_owned();
        }
        if let Some(rest) = line.trim().strip_prefix("admin API key:") {
            key = rest.trim().to_owned();
        }
        lines.push(line);
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = out.read_to_string(&mut rest);
    });
    Running {
        child,
        addr,
        key,
        lines,
    }
}

fn http(
    addr: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(k) = key {
        req.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn stop(mut r: Running) {
    let pid = r.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = r.child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[test]
fn demo_serves_the_api_and_restarts_on_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("troth-data");
    let r = start(&data);
    assert!(r.key.starts_with("troth_"), "{:?}", r.lines);
    let printed = r.lines.concat();
    assert!(printed.contains("/docs") && printed.contains("/openapi.json"));

    assert_eq!(http(&r.addr, "GET", "/healthz", None, None).0, 200);
    let ready = (0..100).any(|_| {
        let ok = http(&r.addr, "GET", "/readyz", None, None).0 == 200;
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        ok
    });
    assert!(ready, "ready once the demo tenant is loaded");
    let (status, docs) = http(&r.addr, "GET", "/docs", None, None);
    assert_eq!(status, 200);
    assert!(docs.contains("/v1/decisions"));
    let (status, page) = http(
        &r.addr,
        "GET",
        "/v1/policies/current/render?lang=zh-CN",
        Some(&r.key),
        None,
    );
    assert_eq!(status, 200);
    assert!(page.contains("个人信息"));
    let (status, body) = http(&r.addr, "POST", "/v1/subjects", Some(&r.key), Some("{}"));
    assert_eq!(status, 201, "{body}");
    let subject: serde_json::Value = serde_json::from_str(&body).unwrap();
    let subject = subject["subject_id"].as_str().unwrap().to_owned();
    let consent =
        format!("{{\"subject\":\"{subject}\",\"purpose\":\"photo-access\",\"status\":\"given\"}}");
    assert_eq!(
        http(
            &r.addr,
            "POST",
            "/v1/consents",
            Some(&r.key),
            Some(&consent)
        )
        .0,
        201
    );
    let first_key = r.key.clone();
    stop(r);

    // The master key file was created private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Restart: same tenant, the consent is still there, the old key still works.
    let r = start(&data);
    assert_ne!(r.key, first_key, "a fresh key per start");
    let q = format!(
        "{{\"subject\":\"{subject}\",\"purpose\":\"photo-access\",\"categories\":[\"photos\"]}}"
    );
    let (status, body) = http(&r.addr, "POST", "/v1/decisions", Some(&first_key), Some(&q));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"allow\":true"), "{body}");
    stop(r);
}
