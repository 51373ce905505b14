//! The standalone `acr-emulator` binary: starts, prints its endpoint and credentials, serves.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap (see notes/COMMON.md)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child (by its own handle) when the test ends, even on panic.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn standalone_binary_prints_endpoint_and_serves() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_acr-emulator"))
            .args(["--port", "0", "--admin", "root:pw", "--seed"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .take(3)
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let endpoint = lines[0].strip_prefix("endpoint: ").unwrap().to_owned();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
    assert!(lines[1].starts_with("storage: http://127.0.0.1:"));
    assert_eq!(lines[2], "admin: root:pw");

    let client = reqwest::Client::new();
    let challenge = client.get(format!("{endpoint}/v2/")).send().await.unwrap();
    assert_eq!(challenge.status(), 401);
    let manifest = client
        .get(format!("{endpoint}/v2/library/hello/manifests/v1"))
        .basic_auth("root", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(manifest.status(), 200);
}

#[test]
fn standalone_binary_rejects_unknown_arguments() {
    let output = Command::new(env!("CARGO_BIN_EXE_acr-emulator"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown argument"));
}
